// The app loads Automerge's wasm itself (src/main.ts); tests hand it the file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import "fake-indexeddb/auto";
import { initializeWasm } from "@automerge/automerge/slim";

const require = createRequire(import.meta.url);
await initializeWasm(readFileSync(require.resolve("@automerge/automerge/automerge.wasm")));
