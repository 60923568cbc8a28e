/**
 * Whether the browser can keep the app for offline use, and when it cannot,
 * the one line the app shows to say why. Offline use needs the service
 * worker, and browsers run service workers only in a secure context: an
 * `https://` page, or `localhost`. Over plain `http://` on the LAN the app
 * still works while online, so it says so instead of failing quietly.
 */

/** What the app knows about the page it runs in. */
export interface Page {
  /** `window.isSecureContext`. */
  secureContext: boolean;
  /** Whether `navigator.serviceWorker` exists. */
  serviceWorker: boolean;
  /** `location.protocol`, such as `"http:"`. */
  protocol: string;
}

const SEE = "See docs/phone.md.";

/** Why this page cannot be kept for offline use, or `null` when it can. */
export function noOfflineReason(page: Page): string | null {
  if (!page.secureContext) {
    const how = page.protocol === "http:" ? "this page was opened over plain http" : "this page is not a secure context";
    return `Offline use needs https: ${how}, so the browser won't keep it for offline use. ${SEE}`;
  }
  if (!page.serviceWorker) {
    return `Offline use is off: this browser offers no service worker here (private browsing can turn them off), so it won't keep the app for offline use. ${SEE}`;
  }
  return null;
}

/** The line for a browser that refused to install the service worker. */
export function registrationFailed(error: unknown): string {
  const why = error instanceof Error && error.message ? ` (${error.message})` : "";
  return `Offline use is off: the browser would not install the app's service worker${why}, so it won't keep the app for offline use. ${SEE}`;
}
