// Build-time defaults. `make extension` rewrites DEFAULT_BACKEND_URL from WILDFLAG_API_URL;
// loaded unpacked as it stands, the extension talks to a backend on this machine.
export const DEFAULT_BACKEND_URL = "http://127.0.0.1:8080";

// First retry of a queued report after this many seconds, doubling up to the cap. Chrome
// fires alarms at most every 30 s for packed extensions, so shorter values only take
// effect unpacked (the end-to-end test uses that).
export const RETRY_BASE_SECONDS = 30;
export const RETRY_CAP_SECONDS = 3600;
