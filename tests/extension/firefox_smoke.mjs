// The extension in Firefox: load it, open a listing, open the preview for its tab, check,
// send. Driven by puppeteer-core over WebDriver BiDi (no downloaded browser). Run by
// test_firefox.py, which starts the backend and the page server and checks what arrived.
// Usage: node firefox_smoke.mjs PUPPETEER_CORE_DIR FIREFOX EXTENSION_DIR LISTING_URL
import path from "node:path";
import { pathToFileURL } from "node:url";

const [puppeteerDir, firefox, extension, listing] = process.argv.slice(2);
const entry = path.join(puppeteerDir, "lib", "esm", "puppeteer", "puppeteer-core.js");
const { default: puppeteer } = await import(pathToFileURL(entry).href);
// A fixed moz-extension:// host, so the test knows where the preview lives.
const UUID = "4b3c2a10-1111-4222-8333-944455556666";

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: firefox,
  headless: true,
  extraPrefsFirefox: {
    "extensions.webextensions.uuids": JSON.stringify({ "wildflag@wildflag.org": UUID }),
    // The fixture marketplace's host name resolves to the local page server.
    "network.dns.forceResolve": "127.0.0.1",
  },
});

async function openExtensionPage(page, url) {
  // BiDi may not navigate to moz-extension: itself; the page may (the test build makes
  // popup.html web-accessible for this).
  await page.evaluate((u) => {
    location.href = u;
  }, url);
  await page.waitForFunction(() => document.body && document.body.dataset.ready === "true", {
    timeout: 20_000,
  });
}

const result = {};
try {
  await browser.installExtension(extension);
  const page = await browser.newPage();
  await page.goto(listing);
  const preview = await browser.newPage();
  await preview.goto(listing);
  await openExtensionPage(preview, `moz-extension://${UUID}/popup.html`);
  // Firefox match patterns cannot carry a port, so find the tab by its exact URL.
  const tab = await preview.evaluate(
    (url) => browser.tabs.query({}).then((tabs) => tabs.find((t) => t.url === url).id),
    listing,
  );
  await openExtensionPage(preview, `moz-extension://${UUID}/popup.html?tab=${tab}`);
  result.fields = await preview.evaluate(() =>
    Object.fromEntries(
      ["url", "title", "price", "currency", "seller", "seller_location"].map((n) => [
        n,
        document.getElementById(`f-${n}`).value,
      ]),
    ),
  );
  result.images = await preview.evaluate(() =>
    [...document.querySelectorAll("#image-list li")].map((li) => li.dataset.src),
  );
  await preview.click("#precheck-button");
  await preview.waitForSelector("#precheck-result ul", { timeout: 15_000 });
  result.precheck = await preview.evaluate(() => document.getElementById("precheck-result").innerText);
  await preview.click("#image-list li:nth-child(2) input");
  await preview.click("#send-button");
  await preview.waitForSelector("#receipt:not([hidden])", { timeout: 20_000 });
  result.reference = await preview.evaluate(() => document.getElementById("receipt-reference").textContent);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
