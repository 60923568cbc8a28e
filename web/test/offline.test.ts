import { describe, expect, it } from "vitest";

import { noOfflineReason, registrationFailed } from "../src/offline";

describe("offline support", () => {
  it("is there on https and on localhost, and the app says nothing", () => {
    expect(noOfflineReason({ secureContext: true, serviceWorker: true, protocol: "https:" })).toBeNull();
    expect(noOfflineReason({ secureContext: true, serviceWorker: true, protocol: "http:" })).toBeNull();
  });

  it("over plain http the app says, in one line, that offline use needs https and why", () => {
    const line = noOfflineReason({ secureContext: false, serviceWorker: false, protocol: "http:" });
    expect(line).toBe(
      "Offline use needs https: this page was opened over plain http, so the browser won't keep it for offline use. See docs/phone.md.",
    );
    expect(line).not.toContain("\n");
  });

  it("names the other reasons too", () => {
    expect(noOfflineReason({ secureContext: false, serviceWorker: false, protocol: "file:" })).toMatch(/^Offline use needs https: this page is not a secure context/);
    expect(noOfflineReason({ secureContext: true, serviceWorker: false, protocol: "https:" })).toMatch(/^Offline use is off: this browser offers no service worker/);
    expect(registrationFailed(new Error("sw.js: 404"))).toMatch(/^Offline use is off: the browser would not install the app's service worker \(sw\.js: 404\)/);
    expect(registrationFailed("?")).not.toContain("()");
  });
});
