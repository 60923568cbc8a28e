/**
 * The vault key as 24 recovery words (BIP39, English), as
 * `client-core/src/crypto.rs` writes and reads them: the 256 bits of the key
 * and an 8-bit checksum, so a mistyped word is caught rather than turned into
 * another key. `@scure/bip39` (audited, one dependency: `@noble/hashes`) does
 * the encoding. The words are a secret: no message ever repeats one, only its
 * position. Loaded only by the recovery form, so the app's first screen does
 * not carry the word list.
 */
import { entropyToMnemonic, mnemonicToEntropy } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";

export const WORD_COUNT = 24;

/** Why a set of words is not a vault key, by position, never by word. */
export class WordsError extends Error {}

/** The key's 24 words, separated by single spaces. */
export function wordsOfKey(key: Uint8Array): string {
  if (key.length !== 32) throw new WordsError("a vault key is 32 bytes");
  return entropyToMnemonic(key, wordlist);
}

/** The key of 24 words, in any case and spacing. */
export function keyOfWords(text: string): Uint8Array {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const problem = (why: string) =>
    new WordsError(`Those are not recovery words of a vault: ${why}. Check each word against what you wrote down (${WORD_COUNT} words, in order).`);
  if (words.length !== WORD_COUNT) throw problem(`${words.length} word${words.length === 1 ? "" : "s"}, where the key has ${WORD_COUNT}`);
  const unknown = words.findIndex((w) => !wordlist.includes(w));
  if (unknown >= 0) throw problem(`word ${unknown + 1} is not in the BIP39 English list`);
  try {
    return mnemonicToEntropy(words.join(" "), wordlist);
  } catch {
    throw problem("the checksum does not match: a word is wrong or two are swapped");
  }
}
