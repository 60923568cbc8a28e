/**
 * Money as the CLI reads and stores it (client-core/src/model/money.rs):
 * integer minor units of an ISO 4217 currency, never floats. Amounts are
 * typed in major units (`120000`, `120,000.50`, `95k`, `1.5M`); the digits a
 * currency has after the point come from the shared vector's table
 * (`tests/vectors/schema.json`, `money.exponents`), two for the rest.
 */
import { money as MONEY } from "../../tests/vectors/schema.json";

const EXPONENTS = new Map((MONEY.exponents as [string, number][]).map(([c, e]) => [c.toUpperCase(), e]));

/** Digits after the decimal point for a currency. */
export function exponent(currency: string): number {
  return EXPONENTS.get(currency.toUpperCase()) ?? 2;
}

export class MoneyError extends Error {}

/** A currency code: three letters, upper-cased (money.rs, `parse_currency`). */
export function parseCurrency(raw: string): string {
  const c = raw.trim().toUpperCase();
  if (/^[A-Z]{3}$/.test(c)) return c;
  throw new MoneyError(`'${raw}' is not an ISO 4217 currency code such as EUR, USD or GBP`);
}

/** An amount typed in major units, as minor units of `currency`, exactly (money.rs, `parse_amount`). */
export function parseAmount(raw: string, currency: string): number {
  const exp = exponent(currency);
  const bad = () => new MoneyError(`'${raw}' is not an amount; write it like 120000, 120,000.50 or 95k (in ${currency})`);
  const cleaned = raw.trim().replace(/[,_]/g, "");
  let number = cleaned;
  let multiplier = 1n;
  if (/[kK]$/.test(cleaned)) {
    number = cleaned.slice(0, -1);
    multiplier = 1000n;
  } else if (/[mM]$/.test(cleaned)) {
    number = cleaned.slice(0, -1);
    multiplier = 1_000_000n;
  }
  const dot = number.indexOf(".");
  const whole = dot < 0 ? number : number.slice(0, dot);
  const frac = dot < 0 ? "" : number.slice(dot + 1);
  if (whole === "" && frac === "") throw bad();
  const negative = whole.startsWith("-");
  const digits = whole.replace(/^-+/, "");
  if (!/^\d*$/.test(digits) || !/^\d*$/.test(frac)) throw bad();
  const unit = 10n ** BigInt(exp) * multiplier;
  const fracValue = frac ? BigInt(frac) : 0n;
  const fracScale = 10n ** BigInt(frac.length);
  if (unit % fracScale !== 0n && fracValue !== 0n) throw new MoneyError(`'${raw}' has more decimals than ${currency} allows (${exp})`);
  const wholeValue = digits ? BigInt(digits) : 0n;
  const minor = wholeValue * unit + (fracValue === 0n ? 0n : fracValue * (unit / fracScale));
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw bad();
  return Number(negative ? -minor : minor);
}

/** Minor units as major ones, every decimal the currency has, no grouping: `120000.50`, `950000` (money.rs, `plain`). */
export function plainAmount(minor: number, currency: string): string {
  const exp = exponent(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = BigInt(Math.abs(minor));
  if (exp === 0) return `${sign}${abs}`;
  const scale = 10n ** BigInt(exp);
  return `${sign}${abs / scale}.${String(abs % scale).padStart(exp, "0")}`;
}
