/*
 * Generic listing extraction, injected with scripting.executeScript into the tab the user
 * chose to report (activeTab). It only reads the page and fetches the listing's own images;
 * it never changes the page and never sends anything anywhere: the popup shows the result
 * and the user decides what leaves the browser.
 *
 * A classic script (not a module) because executeScript injects files as classic scripts.
 * It defines `globalThis.wildflagExtract`; Node's test runner loads the same file and tests
 * the pure functions (everything that does not take a `doc`).
 */
(() => {
  "use strict";

  // Text this long is enough for a listing; the backend accepts more, but a huge page text
  // usually means we picked up navigation and footers, not the offer.
  const MAX_TEXT = 5000;
  const MAX_FIELD = 300;
  // Images smaller than this on screen are icons, avatars, logos or thumbnails of other listings.
  const MIN_IMAGE_SIDE = 100;
  const MAX_IMAGES = 8;
  // Preselect an image only if it is large or comes from the listing's structured data.
  const PRESELECT_MIN_AREA = 150 * 150;
  const PRESELECT_MAX_DEPTH = 2; // viewport heights below the first screen
  const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
  const MAX_SNAPSHOT_CHARS = 5 * 1024 * 1024;

  // Currency symbols as marketplaces print them; codes are ISO 4217, what the backend wants.
  // "$" alone is ambiguous (USD, MXN, ARS…): USD is the best guess and the user can edit it.
  const CURRENCY_SYMBOLS = [
    ["R$", "BRL"], ["US$", "USD"], ["CA$", "CAD"], ["A$", "AUD"], ["HK$", "HKD"],
    ["S$", "SGD"], ["NT$", "TWD"], ["€", "EUR"], ["£", "GBP"], ["¥", "JPY"], ["₹", "INR"],
    ["₦", "NGN"], ["₱", "PHP"], ["₩", "KRW"], ["₫", "VND"], ["฿", "THB"], ["₺", "TRY"],
    ["₽", "RUB"], ["zł", "PLN"], ["KSh", "KES"], ["Rp", "IDR"], ["RM", "MYR"], ["$", "USD"],
  ];

  const LOCATION_PATTERNS = [
    /^(?:item location|ships from|shipped from|located in|location|seller location|dispatched from|envoi depuis|expédié depuis|localisation|lieu|ubicación|envío desde|enviado desde|localização|standort|versand aus)\s*[:：]\s*(.+)$/i,
  ];
  const SHIPS_TO_PATTERNS = [
    /^(?:ships to|shipping to|delivers to|livraison vers|livraison en|expédie vers|envíos a|envío a|envia para|versand nach)\s*[:：]\s*(.+)$/i,
  ];

  function clean(value, max = MAX_FIELD) {
    if (value === undefined || value === null) return "";
    const text = String(value).replace(/\s+/g, " ").trim();
    return text.length > max ? text.slice(0, max).trimEnd() : text;
  }

  /** Like clean(), but keeps line breaks (at most one blank line) in long text. */
  function cleanText(value, max = MAX_TEXT) {
    if (value === undefined || value === null) return "";
    const text = String(value)
      .split(/\r?\n/)
      .map((line) => line.replace(/\s+/g, " ").trim())
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
    return text.length > max ? text.slice(0, max).trimEnd() : text;
  }

  function asArray(value) {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
  }

  function hasType(node, wanted) {
    return asArray(node && node["@type"]).some((t) => {
      const name = String(t).replace(/^https?:\/\/schema\.org\//, "");
      return wanted.includes(name);
    });
  }

  /** Every object in parsed JSON-LD documents, @graph and nesting flattened. */
  function flattenJsonLd(documents) {
    const out = [];
    const visit = (node, depth) => {
      if (depth > 8 || node === null || typeof node !== "object") return;
      if (Array.isArray(node)) {
        node.forEach((child) => visit(child, depth + 1));
        return;
      }
      out.push(node);
      for (const value of Object.values(node)) visit(value, depth + 1);
    };
    asArray(documents).forEach((doc) => visit(doc, 0));
    return out;
  }

  function nameOf(value) {
    if (!value) return "";
    if (typeof value === "string") return clean(value);
    return clean(value.name || value.alternateName || "");
  }

  function placeOf(value) {
    if (!value) return "";
    if (typeof value === "string") return clean(value);
    if (Array.isArray(value)) return clean(value.map(placeOf).filter(Boolean).join(", "));
    const address = value.address || value;
    if (typeof address === "string") return clean(address);
    const parts = [
      address.addressLocality, address.addressRegion, nameOf(address.addressCountry) ||
        address.addressCountry,
    ].filter((p) => typeof p === "string" && p.trim());
    return clean(parts.join(", ") || value.name || "");
  }

  function imageUrls(value) {
    return asArray(value)
      .map((img) => (typeof img === "string" ? img : img && (img.contentUrl || img.url)))
      .filter((src) => typeof src === "string" && src.trim());
  }

  /** Listing fields from schema.org Product/Offer objects (JSON-LD or microdata alike). */
  function fromSchemaOrg(nodes) {
    const product = nodes.find((n) => hasType(n, ["Product", "IndividualProduct", "ProductModel", "Vehicle"]));
    const offers = product ? asArray(product.offers) : nodes.filter((n) => hasType(n, ["Offer", "AggregateOffer"]));
    const offer = offers.find((o) => o && typeof o === "object") || {};
    const fields = {};
    if (product) {
      fields.title = clean(product.name);
      fields.text = cleanText(product.description);
    } else if (offer.name) {
      fields.title = clean(offer.name);
    }
    const price = offer.price ?? offer.lowPrice ?? (offer.priceSpecification || {}).price;
    if (price !== undefined && price !== null && price !== "") fields.price = clean(price);
    const currency = offer.priceCurrency || (offer.priceSpecification || {}).priceCurrency;
    if (currency) fields.currency = clean(currency).toUpperCase();
    const seller = offer.seller || (product && product.seller);
    if (seller) fields.seller = nameOf(seller);
    const from = offer.availableAtOrFrom || (seller && typeof seller === "object" && seller.address ? seller : null);
    if (from) fields.seller_location = placeOf(from);
    const shipping = asArray(offer.shippingDetails)[0];
    const destination = offer.eligibleRegion || offer.areaServed || (shipping && shipping.shippingDestination);
    if (destination) fields.ships_to = placeOf(destination);
    fields.images = imageUrls(product ? product.image : offer.image);
    for (const key of Object.keys(fields)) {
      if (fields[key] === "" || (Array.isArray(fields[key]) && !fields[key].length)) delete fields[key];
    }
    return fields;
  }

  /** OpenGraph (and the product: namespace some shops add) from meta property/content pairs. */
  function fromOpenGraph(meta) {
    const get = (...names) => {
      for (const name of names) if (meta[name]) return meta[name];
      return "";
    };
    const fields = {
      title: clean(get("og:title", "twitter:title")),
      text: cleanText(get("og:description", "twitter:description", "description")),
      price: clean(get("product:price:amount", "og:price:amount")),
      currency: clean(get("product:price:currency", "og:price:currency")).toUpperCase(),
      images: [get("og:image:secure_url", "og:image", "twitter:image")].filter(Boolean),
    };
    for (const key of Object.keys(fields)) {
      if (fields[key] === "" || (Array.isArray(fields[key]) && !fields[key].length)) delete fields[key];
    }
    return fields;
  }

  /** "€ 1.200,50" → {price: "1.200,50", currency: "EUR"}; the number is kept as printed. */
  function parsePrice(text) {
    const value = clean(text, 80);
    if (!value) return {};
    const number = value.match(/\d[\d.,\s\u00a0\u202f]*\d|\d/);
    if (!number) return {};
    const out = { price: number[0].replace(/[\s\u00a0\u202f]+/g, "") };
    const code = value.match(/\b([A-Z]{3})\b/);
    if (code) {
      out.currency = code[1];
    } else {
      const hit = CURRENCY_SYMBOLS.find(([symbol]) => value.includes(symbol));
      if (hit) out.currency = hit[1];
    }
    return out;
  }

  /** "Ships from: Lagos, Nigeria" → {seller_location: "Lagos, Nigeria"}; short lines only. */
  function parseShippingLine(line) {
    const text = clean(line, 200);
    for (const pattern of LOCATION_PATTERNS) {
      const m = text.match(pattern);
      if (m) return { seller_location: clean(m[1]) };
    }
    for (const pattern of SHIPS_TO_PATTERNS) {
      const m = text.match(pattern);
      if (m) return { ships_to: clean(m[1]) };
    }
    return {};
  }

  /** The site table entry whose key is a suffix (or a "name." prefix) of the host. */
  function siteFor(hostname, table) {
    const host = String(hostname || "").toLowerCase().replace(/^www\./, "");
    for (const [key, entry] of Object.entries(table || {})) {
      if (key.startsWith("_")) continue;
      if (key.endsWith(".")) {
        // "ebay." matches ebay.com, ebay.co.uk, m.ebay.de
        if (host.startsWith(key) || host.includes("." + key)) return entry;
      } else if (host === key || host.endsWith("." + key)) {
        return entry;
      }
    }
    return null;
  }

  /**
   * Orders candidate images: structured-data images first, then by area on screen, with a
   * penalty for images far below the first screens (related listings, ads, footers).
   * Each candidate: {src, width, height, top, structured}.
   */
  function rankImages(candidates, viewportHeight = 800) {
    const seen = new Set();
    const scored = [];
    for (const c of candidates) {
      if (!c.src || seen.has(c.src) || c.src.startsWith("data:image/svg")) continue;
      const structured = Boolean(c.structured);
      const area = (c.width || 0) * (c.height || 0);
      if (!structured && (c.width < MIN_IMAGE_SIDE || c.height < MIN_IMAGE_SIDE)) continue;
      seen.add(c.src);
      const depth = Math.max(0, (c.top || 0) - viewportHeight) / viewportHeight;
      // The image the user right-clicked comes first, then the listing's declared images.
      const score = (c.clicked ? 1e9 : 0) + (structured ? 1e7 : 0) + area / (1 + depth);
      // Far below the first screens a large photo is more often another listing's.
      const preselect = structured || (area >= PRESELECT_MIN_AREA && depth < PRESELECT_MAX_DEPTH);
      scored.push({ ...c, structured, score, preselect });
    }
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, MAX_IMAGES);
  }

  /** Later sources only fill what earlier ones left empty (site table > JSON-LD > … > OG). */
  function merge(...sources) {
    const out = {};
    for (const source of sources) {
      for (const [key, value] of Object.entries(source || {})) {
        if (key === "images") continue;
        if (!out[key] && value) out[key] = value;
      }
    }
    return out;
  }

  // --- DOM side: only runs in the page -------------------------------------------------

  function jsonLdNodes(doc) {
    const docs = [];
    for (const script of doc.querySelectorAll('script[type="application/ld+json"]')) {
      try {
        docs.push(JSON.parse(script.textContent));
      } catch {
        // Broken JSON-LD is common; the other sources still apply.
      }
    }
    return flattenJsonLd(docs);
  }

  /** schema.org microdata as JSON-LD-like objects, so fromSchemaOrg reads both. */
  function microdataNodes(doc) {
    const read = (scope, depth) => {
      const node = { "@type": (scope.getAttribute("itemtype") || "").split(/\s+/).filter(Boolean) };
      const props = [];
      const walk = (el) => {
        for (const child of el.children) {
          if (child.hasAttribute("itemprop")) props.push(child);
          if (!child.hasAttribute("itemscope")) walk(child);
        }
      };
      walk(scope);
      for (const el of props) {
        const value = el.hasAttribute("itemscope") && depth < 5
          ? read(el, depth + 1)
          : el.getAttribute("content") || el.getAttribute("src") || el.getAttribute("href") ||
            el.getAttribute("datetime") || el.textContent;
        for (const name of el.getAttribute("itemprop").split(/\s+/)) {
          if (node[name] === undefined) node[name] = value;
          else node[name] = asArray(node[name]).concat([value]);
        }
      }
      return node;
    };
    const tops = [...doc.querySelectorAll("[itemscope][itemtype]")].filter(
      (el) => !el.hasAttribute("itemprop"),
    );
    return flattenJsonLd(tops.map((el) => read(el, 0)));
  }

  function metaTags(doc) {
    const meta = {};
    for (const el of doc.querySelectorAll("meta[property], meta[name]")) {
      const key = (el.getAttribute("property") || el.getAttribute("name")).toLowerCase();
      if (!meta[key]) meta[key] = el.getAttribute("content") || "";
    }
    return meta;
  }

  function firstText(doc, selectors) {
    for (const selector of selectors || []) {
      try {
        const el = doc.querySelector(selector);
        const text = el && clean(el.getAttribute("content") || el.textContent);
        if (text) return text;
      } catch {
        // A selector the browser rejects is skipped, not fatal.
      }
    }
    return "";
  }

  function fromSite(doc, site) {
    if (!site) return {};
    const fields = {};
    for (const key of ["title", "seller", "seller_location", "ships_to"]) {
      const text = firstText(doc, site[key]);
      if (text) fields[key] = text;
    }
    Object.assign(fields, parsePrice(firstText(doc, site.price)));
    return fields;
  }

  /** Price, seller and shipping lines from the visible page, when nothing structured said so. */
  function fromVisibleText(doc) {
    const fields = {};
    const priceEl = doc.querySelector('[itemprop="price"], [class*="price" i], [id*="price" i]');
    if (priceEl) Object.assign(fields, parsePrice(priceEl.getAttribute("content") || priceEl.textContent));
    const sellerEl = doc.querySelector(
      '[class*="seller" i] a, [class*="seller-name" i], [id*="seller" i] a, [class*="vendor" i] a, [rel="author"]',
    );
    if (sellerEl) fields.seller = clean(sellerEl.textContent);
    // Short blocks only: a "Location: …" line, not a paragraph that mentions a location.
    for (const el of doc.querySelectorAll("p, li, dd, dt, span, div, td")) {
      if (el.children.length > 3) continue;
      const text = el.textContent || "";
      if (text.length > 160 || !text.includes(":")) continue;
      const hit = parseShippingLine(text);
      for (const [key, value] of Object.entries(hit)) if (!fields[key] && value) fields[key] = value;
      if (fields.seller_location && fields.ships_to) break;
    }
    return fields;
  }

  function absolute(doc, src) {
    try {
      return new URL(src, doc.baseURI).href;
    } catch {
      return "";
    }
  }

  function imageCandidates(doc, structuredUrls, siteSelectors, clickedUrl) {
    const candidates = structuredUrls.map((src) => ({ src: absolute(doc, src), structured: true, width: 0, height: 0, top: 0 }));
    if (clickedUrl) candidates.unshift({ src: absolute(doc, clickedUrl), structured: true, clicked: true, width: 0, height: 0, top: 0 });
    const siteImages = new Set();
    for (const selector of siteSelectors || []) {
      try {
        doc.querySelectorAll(selector).forEach((img) => siteImages.add(img));
      } catch {
        // ignore bad selectors
      }
    }
    const view = doc.defaultView;
    for (const img of doc.images) {
      const rect = img.getBoundingClientRect();
      const src = img.currentSrc || img.src;
      if (!src) continue;
      const style = view.getComputedStyle(img);
      if (style.visibility === "hidden" || style.display === "none") continue;
      candidates.push({
        src: absolute(doc, src),
        width: Math.round(rect.width),
        height: Math.round(rect.height),
        top: Math.round(rect.top + view.scrollY),
        structured: siteImages.has(img),
        alt: clean(img.alt, 120),
      });
    }
    // The same picture found in structured data and in the page keeps its on-screen size.
    const bySrc = new Map();
    for (const c of candidates) {
      const prev = bySrc.get(c.src);
      if (!prev) bySrc.set(c.src, c);
      else bySrc.set(c.src, { ...prev, ...c, structured: prev.structured || c.structured, clicked: prev.clicked || c.clicked });
    }
    return rankImages([...bySrc.values()], view.innerHeight);
  }

  async function imageData(src) {
    // Same-origin and CORS-enabled images can be read; others are listed but not attached.
    const response = await fetch(src, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const blob = await response.blob();
    if (!blob.type.startsWith("image/")) throw new Error(`not an image (${blob.type})`);
    if (blob.size > MAX_IMAGE_BYTES) throw new Error("too large");
    const dataUrl = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
    return { dataUrl, type: blob.type, size: blob.size };
  }

  /**
   * Everything the popup may offer to send. `options`: {sites, selectionText, srcUrl}.
   * srcUrl is the image the user right-clicked ("Report this image"): it comes first.
   */
  async function extractPage(options = {}) {
    const doc = document;
    const site = siteFor(location.hostname, options.sites);
    const schema = fromSchemaOrg([...jsonLdNodes(doc), ...microdataNodes(doc)]);
    const og = fromOpenGraph(metaTags(doc));
    const fields = merge(fromSite(doc, site), schema, og, fromVisibleText(doc));
    fields.url = location.href;
    fields.title = fields.title || clean(doc.title);
    const selection = cleanText(options.selectionText || String(window.getSelection() || ""));
    if (selection) {
      // What the user highlighted is what they want the unit to read first.
      fields.text = fields.text && !fields.text.includes(selection)
        ? cleanText(`${selection}\n\n${fields.text}`)
        : selection;
    }
    const structured = [...(schema.images || []), ...(og.images || [])];
    const ranked = imageCandidates(doc, structured, site && site.images, options.srcUrl);
    const images = [];
    for (const candidate of ranked) {
      const image = { src: candidate.src, width: candidate.width, height: candidate.height, preselect: candidate.preselect || Boolean(candidate.clicked) };
      try {
        Object.assign(image, await imageData(candidate.src));
      } catch (error) {
        image.error = String(error && error.message ? error.message : error);
        image.preselect = false;
      }
      images.push(image);
    }
    let snapshot = "";
    try {
      snapshot = "<!DOCTYPE html>\n" + doc.documentElement.outerHTML;
      if (snapshot.length > MAX_SNAPSHOT_CHARS) snapshot = "";
    } catch {
      snapshot = "";
    }
    return {
      fields,
      images,
      snapshot,
      sources: { site: Boolean(site), jsonld: Object.keys(schema).length > 0, opengraph: Object.keys(og).length > 0 },
    };
  }

  globalThis.wildflagExtract = {
    clean, cleanText, flattenJsonLd, fromSchemaOrg, fromOpenGraph, parsePrice, parseShippingLine,
    siteFor, rankImages, merge, extractPage,
  };
})();
