// Unit tests of the pure extraction functions in content/extract.js, with Node's own test
// runner (`node --test browser_extension/test/`): no npm packages, no DOM needed.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

// Load the content script as the browser does: a classic script that sets a global.
const source = fs.readFileSync(path.join(__dirname, "..", "content", "extract.js"), "utf8");
const sandbox = {};
sandbox.globalThis = sandbox;
vm.runInNewContext(source, sandbox);
const x = sandbox.wildflagExtract;
const sites = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "sites", "sites.json"), "utf8"));
// vm objects come from another realm; compare them as plain JSON.
const plain = (value) => JSON.parse(JSON.stringify(value));

test("JSON-LD Product with Offer, @graph and nested seller", () => {
  const nodes = x.flattenJsonLd([
    {
      "@context": "https://schema.org",
      "@graph": [
        { "@type": "BreadcrumbList" },
        {
          "@type": "Product",
          name: " Ivory  bangle ",
          description: "Old ivory bangle",
          image: [{ "@type": "ImageObject", contentUrl: "https://cdn.example/a.jpg" }, "https://cdn.example/b.jpg"],
          offers: [{
            "@type": "Offer", price: 450, priceCurrency: "gbp",
            seller: { "@type": "Person", name: "antiques_uk", address: { addressLocality: "Leeds", addressCountry: "GB" } },
            shippingDetails: { shippingDestination: { "@type": "DefinedRegion", addressCountry: "FR" } },
          }],
        },
      ],
    },
  ]);
  assert.deepEqual(plain(x.fromSchemaOrg(nodes)), {
    title: "Ivory bangle",
    text: "Old ivory bangle",
    price: "450",
    currency: "GBP",
    seller: "antiques_uk",
    seller_location: "Leeds, GB",
    ships_to: "FR",
    images: ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"],
  });
});

test("AggregateOffer without a product uses lowPrice", () => {
  const nodes = x.flattenJsonLd({ "@type": "AggregateOffer", lowPrice: "10", priceCurrency: "USD" });
  assert.deepEqual(plain(x.fromSchemaOrg(nodes)), { price: "10", currency: "USD" });
});

test("nothing structured gives nothing", () => {
  assert.deepEqual(plain(x.fromSchemaOrg([])), {});
  assert.deepEqual(plain(x.fromOpenGraph({})), {});
});

test("OpenGraph with product price tags", () => {
  assert.deepEqual(
    plain(x.fromOpenGraph({
      "og:title": "Tortoise", "og:description": "Radiated tortoise, captive bred",
      "og:image": "https://x.example/t.jpg", "product:price:amount": "300", "product:price:currency": "eur",
    })),
    { title: "Tortoise", text: "Radiated tortoise, captive bred", price: "300", currency: "EUR", images: ["https://x.example/t.jpg"] },
  );
});

test("prices as marketplaces print them", () => {
  assert.deepEqual(plain(x.parsePrice("€ 1.200,50")), { price: "1.200,50", currency: "EUR" });
  assert.deepEqual(plain(x.parsePrice("R$ 2 500")), { price: "2500", currency: "BRL" });
  assert.deepEqual(plain(x.parsePrice("US $45.00")), { price: "45.00", currency: "USD" });
  assert.deepEqual(plain(x.parsePrice("350 000 XOF")), { price: "350000", currency: "XOF" });
  assert.deepEqual(plain(x.parsePrice("₦85,000")), { price: "85,000", currency: "NGN" });
  assert.deepEqual(plain(x.parsePrice("Contact seller")), {});
});

test("location and shipping lines in several languages", () => {
  assert.deepEqual(plain(x.parseShippingLine("Item location: Lagos, Nigeria")), { seller_location: "Lagos, Nigeria" });
  assert.deepEqual(plain(x.parseShippingLine("Expédié depuis : Lyon")), { seller_location: "Lyon" });
  assert.deepEqual(plain(x.parseShippingLine("Envío a: todo el mundo")), { ships_to: "todo el mundo" });
  assert.deepEqual(plain(x.parseShippingLine("The location of the parrot is lovely")), {});
});

test("site table entries match by host suffix or name prefix", () => {
  assert.ok(x.siteFor("www.ebay.co.uk", sites).title);
  assert.ok(x.siteFor("m.ebay.de", sites));
  assert.ok(x.siteFor("www.etsy.com", sites));
  assert.ok(x.siteFor("olx.co.id", sites));
  assert.equal(x.siteFor("notebay.com", sites), null);
  assert.equal(x.siteFor("example.org", sites), null);
  for (const [key, entry] of Object.entries(sites)) {
    if (key.startsWith("_")) continue;
    for (const [field, selectors] of Object.entries(entry)) {
      assert.ok(["title", "price", "seller", "seller_location", "ships_to", "images"].includes(field), `${key}.${field}`);
      assert.ok(Array.isArray(selectors) && selectors.length, `${key}.${field}`);
    }
  }
});

test("images: structured first, then size; icons and far-below thumbnails out or last", () => {
  const ranked = x.rankImages([
    { src: "logo.png", width: 40, height: 40, top: 0 },
    { src: "side.jpg", width: 400, height: 300, top: 100 },
    { src: "main.jpg", width: 0, height: 0, top: 0, structured: true },
    { src: "related.jpg", width: 400, height: 300, top: 5000 },
    { src: "side.jpg", width: 400, height: 300, top: 100 },
    { src: "thumb.jpg", width: 120, height: 90, top: 200 },
  ], 800);
  assert.deepEqual(plain(ranked.map((r) => r.src)), ["main.jpg", "side.jpg", "related.jpg"]);
  assert.deepEqual(plain(ranked.map((r) => r.preselect)), [true, true, false]);
  const small = x.rankImages([{ src: "s.jpg", width: 120, height: 120, top: 0 }]);
  assert.equal(small[0].preselect, false);
});

test("merge keeps the first non-empty value per field", () => {
  assert.deepEqual(plain(x.merge({ title: "A" }, { title: "B", price: "1" }, { price: "2", seller: "" })), { title: "A", price: "1" });
});

test("long text keeps its paragraphs, not its runs of spaces", () => {
  assert.equal(x.cleanText("  Tame   parrot\n\n\n\nTalks  a lot \r\n  Lagos "), "Tame parrot\n\nTalks a lot\nLagos");
  assert.equal(x.clean("a\n b"), "a b");
});
