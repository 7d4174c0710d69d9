// The page's tests in a real browser: Debian's Chromium, headless, driven
// by puppeteer-core (tests/e2e/test_browser.py runs one scenario a call:
// node run.mjs <scenario>, its input as JSON on stdin, its report as JSON
// on stdout). Every page state a scenario reaches is audited by axe-core
// and photographed (desktop and phone widths) into MDV_SCREENSHOTS.

import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

const modules = process.env.MDV_BROWSER_MODULES;
const require = createRequire(path.join(modules, "noop.js"));
const puppeteer = require("puppeteer-core");
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = process.env.MDV_SCREENSHOTS;
const CHROMIUM = process.env.MDV_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = Number(process.env.MDV_BROWSER_TIMEOUT_MS || 60000);
// A phone's width only: puppeteer reloads the page to change isMobile,
// which would lose the state being photographed.
const PHONE = { width: 375, height: 740, deviceScaleFactor: 1 };
const DESKTOP = { width: 1280, height: 900 };
// axe-core's WCAG 2.0, 2.1 and 2.2 A/AA rules and its best practices.
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

const input = JSON.parse(readFileSync(0, "utf8"));
const scenario = process.argv[2];
const report = { scenario, audits: [], screenshots: [], csp: [], console: [], steps: {} };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function audit(page, state) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  }, AXE_TAGS);
  report.audits.push({ state, url: page.url(), violations: result });
  await shoot(page, state);
}

async function shoot(page, state) {
  mkdirSync(SHOTS, { recursive: true });
  const name = `${scenario}-${state}`.replace(/[^a-z0-9-]+/gi, "-");
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const viewport = page.viewport();
  await page.setViewport(PHONE);
  await sleep(100);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: path.join(SHOTS, `${name}-telephone.png`), fullPage: true });
  await page.setViewport(viewport);
  report.screenshots.push({ state, file: `${name}.png`, phone: `${name}-telephone.png`, phone_overflow_px: overflow });
}

async function newPage(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  // A usager in France: dates and numbers as the French locale writes them.
  const cdp = await page.createCDPSession();
  await cdp.send("Emulation.setLocaleOverride", { locale: "fr-FR" });
  await page.emulateTimezone("Europe/Paris");
  await page.setViewport(DESKTOP);
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
      console.error(`CSP: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on("console", (m) => {
    if (m.type() === "error") report.console.push(m.text());
  });
  page.on("pageerror", (e) => report.console.push(`pageerror: ${e.message}`));
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === "true");
}

// Signs in through the provider's own page: the FranceConnect button, the
// test person whose label holds who (input.person unless told), « Continuer ».
async function signIn(page, who = input.person) {
  await page.goto(input.gateway_url + "/", { waitUntil: "networkidle0" });
  await ready(page);
  await Promise.all([page.waitForNavigation(), page.click("a.fr-connect")]);
  const sub = await page.evaluate((who) => {
    const parts = [who].flat(); // a name, or a name and a birth date
    const label = Array.from(document.querySelectorAll("label")).find((l) => parts.every((p) => l.textContent.includes(p)));
    return label ? label.querySelector("input[name=sub]").value : null;
  }, who);
  if (!sub) throw new Error(`no test person like ${who} on the provider's page`);
  await page.click(`input[name=sub][value="${sub}"]`);
  await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }), page.click("button[type=submit]")]);
  await page.waitForFunction((url) => location.href.startsWith(url), {}, input.gateway_url);
  await ready(page);
  await page.waitForSelector("h1");
}

// « Se déconnecter », then the provider's own confirmation when it asks.
async function signOut(page) {
  await Promise.all([page.waitForNavigation(), page.click("#deconnexion button[type=submit]")]);
  if (!page.url().startsWith(input.gateway_url)) {
    report.steps.provider_page = page.url();
    await Promise.all([page.waitForNavigation(), page.click("button[name=logout]")]);
  }
  await page.waitForFunction((url) => location.href.startsWith(url), {}, input.gateway_url);
  await ready(page);
}

// Until no list of the page still says « Chargement… ».
async function loaded(page) {
  await page.waitForFunction(() => !Array.from(document.querySelectorAll("#app p")).some((p) => p.textContent.startsWith("Chargement")));
}

async function fill(page, values) {
  for (const [id, value] of Object.entries(values)) {
    const found = await page.evaluate((id, value) => {
      const el = document.getElementById(id);
      if (!el) return false;
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked !== Boolean(value)) el.click();
      } else {
        el.value = value;
        el.dispatchEvent(new Event("input", { bubbles: true }));
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }
      return true;
    }, id, value);
    if (!found) {
      const ids = await page.$$eval("form [id^=f-]", (els) => els.map((e) => e.id));
      throw new Error(`no field #${id} among ${ids.join(" ")}`);
    }
  }
}

function watchRequests(page) {
  const seen = [];
  page.on("request", (r) => seen.push(`${r.method()} ${new URL(r.url()).pathname}`));
  return seen;
}

async function journeySteps(page) {
  return page.$$eval("[data-step]", (els) => els.map((e) => ({ code: e.dataset.step, status: e.dataset.status })));
}

async function waitSteps(page, predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const steps = await journeySteps(page);
    if (steps.length && predicate(steps)) return steps;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(steps)}`);
    await sleep(100);
  }
}

// "date:YYYY-MM-DD" is typed as a French usager types it in the date
// field, day, month, year (the page's locale is fr-FR: newPage).
function keysFor(keys) {
  if (keys.length !== 1 || !keys[0].startsWith("date:")) return keys;
  const [y, m, d] = keys[0].slice(5).split("-");
  return [d, m, y];
}

// ---- scenarios ----

const scenarios = {
  async signed_out(browser) {
    const page = await newPage(browser);
    await page.goto(input.gateway_url + "/", { waitUntil: "networkidle0" });
    await ready(page);
    report.steps.login_href = await page.$eval("a.fr-connect", (a) => a.getAttribute("href"));
    report.steps.h1 = await page.$eval("h1", (e) => e.textContent);
    report.steps.lang = await page.$eval("html", (e) => e.lang);
    await audit(page, "non-connecte");
  },

  // Every kind declared from its form, the journey page followed live
  // until every step is final; a double click on « Déclarer » once.
  async declare(browser) {
    const page = await newPage(browser);
    await signIn(page);
    report.steps.greeting = await page.$eval("h1", (e) => e.textContent);
    await page.waitForSelector("#mes-demarches ul, #mes-demarches p:not(:empty)");
    await audit(page, "accueil");
    report.steps.journeys = {};
    report.steps.before = await page.evaluate(async () => (await (await fetch("/v1/journeys?limit=100")).json()).items.map((j) => j.id));
    for (const [kind, values] of Object.entries(input.forms)) {
      await page.goto(`${input.gateway_url}/#/declarer/${kind}`);
      await page.waitForSelector(`form#declaration[data-kind="${kind}"]`);
      await audit(page, `formulaire-${kind}`);
      await fill(page, values);
      const requests = watchRequests(page);
      const submit = await page.$("form#declaration button[type=submit]");
      await submit.click({ count: 2 }); // a double click declares once
      await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
      const id = await page.evaluate(() => location.hash.split("/")[2]);
      await page.waitForSelector("[data-step]");
      const first = await journeySteps(page);
      await audit(page, `demarche-${kind}`);
      // Every administration has reported (some steps stay in progress for
      // weeks: a CROUS housing request, a passport being made).
      const steps = await waitSteps(page, (s) => s.every((x) => x.status !== "pending"), `${kind}: a step still pending on the page`);
      await audit(page, `demarche-${kind}-finale`);
      report.steps.journeys[kind] = {
        id, first, final: steps,
        posts: requests.filter((r) => r === "POST /v1/declarations").length,
        journey_gets: requests.filter((r) => r === `GET /v1/journeys/${id}`).length,
        streams: requests.filter((r) => r === `GET /v1/journeys/${id}/events`).length,
      };
    }
    report.steps.listed = await page.evaluate(async () => (await (await fetch("/v1/journeys?limit=100")).json()).items.map((j) => ({ id: j.id, kind: j.kind })));
  },

  // Errors field by field, in French, from the API's errors list.
  async errors(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/bereavement`);
    await page.waitForSelector('form#declaration[data-kind="bereavement"]');
    await fill(page, input.values);
    await page.click("form#declaration button[type=submit]");
    await page.waitForSelector("#erreurs .fr-alert");
    report.steps.focused = await page.evaluate(() => document.activeElement.id);
    report.steps.summary = await page.$$eval("#erreurs li", (els) => els.map((e) => e.textContent));
    report.steps.invalid = await page.$$eval("[aria-invalid=true]", (els) => els.map((e) => e.id));
    report.steps.messages = await page.$$eval(".fr-message--error", (els) => els.map((e) => ({ box: e.parentElement.id, text: e.textContent })));
    await audit(page, "erreurs");
  },

  // A step that waits for the usager: « Confirmer », then the step changes
  // on the page by itself.
  async confirm(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/bereavement`);
    await page.waitForSelector('form#declaration[data-kind="bereavement"]');
    await fill(page, input.values);
    const requests = watchRequests(page);
    await page.click("form#declaration button[type=submit]");
    await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
    const id = await page.evaluate(() => location.hash.split("/")[2]);
    await page.waitForSelector(`[data-step="${input.step}"][data-status="action_required"] button[data-action]`);
    await audit(page, "action-requise");
    const clicked = Date.now();
    await page.click(`[data-step="${input.step}"] button[data-action]`);
    await page.waitForSelector(`[data-step="${input.step}"]:not([data-status="action_required"])`);
    report.steps.seen_after_ms = Date.now() - clicked;
    report.steps.status = await page.$eval(`[data-step="${input.step}"]`, (e) => e.dataset.status);
    report.steps.announced = await page.$eval("#mise-a-jour", (e) => e.textContent);
    report.steps.journey_id = id;
    report.steps.journey_gets = requests.filter((r) => r === `GET /v1/journeys/${id}`).length;
    await audit(page, "action-confirmee");
  },

  // A démarche followed to its end, then rated: « Donner votre avis » on
  // the journey's page leads to the rating form, the note and a comment
  // sent, and the journey's page says the note given.
  async rate(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/bereavement`);
    await page.waitForSelector('form#declaration[data-kind="bereavement"]');
    await fill(page, input.values);
    await page.click("form#declaration button[type=submit]");
    await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
    const id = await page.evaluate(() => location.hash.split("/")[2]);
    report.steps.journey_id = id;
    await page.waitForSelector("a#donner-avis", { timeout: 60000 });
    await audit(page, "avis-propose");
    await Promise.all([page.waitForNavigation(), page.click("a#donner-avis")]);
    await page.waitForSelector("form select#note");
    await audit(page, "avis-formulaire");
    await page.select("select#note", String(input.score));
    await page.type("textarea#commentaire", input.comment);
    await Promise.all([page.waitForNavigation(), page.click(`form[action$="/avis"] button[type=submit]`)]);
    report.steps.after_post = await page.$eval("#avis + p", (e) => e.textContent);
    report.steps.comment_shown = await page.$eval("#avis ~ blockquote p", (e) => e.textContent);
    await audit(page, "avis-donne");
    await page.goto(`${input.gateway_url}/#/demarche/${id}`);
    await page.waitForSelector("#avis-titre");
    report.steps.on_page = await page.$eval("#avis p", (e) => e.textContent);
    await audit(page, "avis-sur-la-demarche");
  },

  // A death declared: the « Destinataires » section lists every
  // recipient, first waiting for its acknowledgement, then acknowledged,
  // as the live stream brings it.
  async recipients(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/bereavement`);
    await page.waitForSelector('form#declaration[data-kind="bereavement"]');
    await fill(page, input.values);
    const requests = watchRequests(page);
    await page.click("form#declaration button[type=submit]");
    await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
    const id = await page.evaluate(() => location.hash.split("/")[2]);
    await page.waitForSelector("#destinataires");
    await page.waitForFunction((n) => document.querySelectorAll('[data-partner][data-acknowledged="oui"]').length === n,
      {}, input.partners.length);
    await audit(page, "destinataires");
    report.steps.journey_id = id;
    report.steps.journey_gets = requests.filter((r) => r === `GET /v1/journeys/${id}`).length;
    report.steps.heading = await page.$eval("#destinataires", (e) => e.textContent);
    report.steps.recipients = await page.$$eval("[data-partner]", (els) => els.map((e) => ({
      partner: e.dataset.partner,
      administration: e.querySelector("h3").textContent,
      texts: Array.from(e.querySelectorAll(":scope > p"), (p) => p.textContent),
      fields: Array.from(e.querySelectorAll("li"), (li) => li.textContent),
    })));
  },

  // The keyboard only: Tab through the form, type, Space on a choice,
  // Enter on « Déclarer ».
  async keyboard(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/${input.kind}`);
    await page.waitForSelector(`form#declaration[data-kind="${input.kind}"]`);
    const visited = [];
    const typed = new Set();
    let posted = null; // what « Déclarer » sent
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/v1/declarations")) posted = JSON.parse(r.postData());
    });
    for (let i = 0; i < 200; i++) {
      await page.keyboard.press("Tab");
      const el = await page.evaluate(() => {
        const a = document.activeElement;
        const style = getComputedStyle(a);
        return { id: a.id, tag: a.tagName, type: a.type, text: a.textContent.trim(), outline: style.outlineStyle !== "none" || style.boxShadow !== "none" };
      });
      visited.push(el);
      // Tab also moves between a date field's parts: typed once, on arrival.
      if (el.id in input.keys && !typed.has(el.id)) {
        typed.add(el.id);
        for (const key of keysFor(input.keys[el.id])) {
          if (/^[A-Z][a-zA-Z]+$/.test(key)) await page.keyboard.press(key);
          else await page.keyboard.type(key);
        }
      }
      if (el.tag === "BUTTON" && el.text === "Déclarer") {
        await page.keyboard.press("Enter");
        break;
      }
    }
    report.steps.visited = visited;
    await page.waitForFunction(() => location.hash.startsWith("#/demarche/"), { timeout: TIMEOUT });
    const id = await page.evaluate(() => location.hash.split("/")[2]);
    report.steps.journey_id = id;
    report.steps.body = posted ? Object.fromEntries(Object.entries(posted).filter(([k]) => k in input.keys_of_body)) : null;
  },

  // The API refuses a POST of the session without its CSRF token.
  async csrf(browser) {
    const page = await newPage(browser);
    await signIn(page);
    report.steps.answers = await page.evaluate(async (body) => {
      const me = await (await fetch("/v1/me")).json();
      const post = (headers) => fetch("/v1/declarations", { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
      const without = await post({});
      const wrong = await post({ "X-CSRF-Token": "x" + me.csrf_token });
      const right = await post({ "X-CSRF-Token": me.csrf_token });
      return { without: without.status, wrong: wrong.status, right: right.status, without_type: without.headers.get("Content-Type") };
    }, input.body);
  },

  // Sign-out ends the session at the gateway and at the provider.
  async signout(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await audit(page, "connecte");
    await signOut(page);
    report.steps.after = page.url();
    report.steps.me = await page.evaluate(async () => (await fetch("/v1/me")).status);
    report.steps.connect_button = Boolean(await page.$("a.fr-connect"));
    await audit(page, "deconnecte");
  },

  // The optional recipients of an address change: offered unchecked, with
  // what each would receive; declared once without a choice and once with
  // input.chosen ticked.
  async consent(browser) {
    const page = await newPage(browser);
    await signIn(page);
    let posted = null;
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/v1/declarations")) posted = JSON.parse(r.postData());
    });
    report.steps.journeys = [];
    for (const chosen of [[], input.chosen]) {
      await page.goto(`${input.gateway_url}/#/declarer/address_change`);
      await page.waitForSelector('form#declaration[data-kind="address_change"]');
      if (!chosen.length) {
        report.steps.offered = await page.$$eval("#f-recipients input[type=checkbox]", (els) => els.map((e) => ({
          id: e.id, value: e.value, checked: e.checked, label: document.querySelector(`label[for="${e.id}"]`).textContent })));
        report.steps.legend = await page.$eval("#f-recipients-legend", (e) => e.textContent);
        await audit(page, "formulaire-destinataires");
      }
      await fill(page, { ...input.values, ...Object.fromEntries(chosen.map((p) => [`f-recipients-${p}`, true])) });
      await page.click("form#declaration button[type=submit]");
      await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
      const id = await page.evaluate(() => location.hash.split("/")[2]);
      // The address recorded, and each chosen partner's step on the journey.
      const steps = await waitSteps(page, (s) => s.some((x) => x.code === input.recorded && x.status === "done")
        && chosen.every((p) => s.some((x) => x.code === `${p}.address_notified`)), `recipients ${chosen}: steps`);
      if (chosen.length) await audit(page, "demarche-destinataire-choisi");
      report.steps.journeys.push({ id, chosen, posted: posted.recipients, steps: steps.map((x) => x.code) });
    }
  },

  // A France services agent records a mandate for a usager at the desk,
  // declares for them, sees only the journeys under their mandates, signs
  // out; the usager signs in and finds the journey and the mandate.
  async mandate(browser) {
    const desk = await newPage(await browser.createBrowserContext());
    await signIn(desk, input.agent);
    await loaded(desk);
    report.steps.agent_greeting = await desk.$eval("h1", (e) => e.textContent);
    report.steps.agent_lead = await desk.$eval(".fr-text--lead", (e) => e.textContent);
    await audit(desk, "agent-accueil");
    await desk.click("#nouveau-mandat");
    await desk.waitForSelector("form#mandat-form");
    await audit(desk, "agent-mandat");
    await fill(desk, input.mandate_refused);
    await desk.click("form#mandat-form button[type=submit]");
    await desk.waitForSelector("#erreurs .fr-alert");
    report.steps.mandate_invalid = await desk.$$eval("[aria-invalid=true]", (els) => els.map((e) => e.id));
    await audit(desk, "agent-mandat-erreurs");
    await fill(desk, input.mandate);
    await (await desk.$("form#mandat-form button[type=submit]")).click({ count: 2 });
    await desk.waitForSelector("form#declaration");
    report.steps.mandate_id = await desk.evaluate(() => location.hash.split("/")[2]);
    report.steps.under_mandate = await desk.$eval("#sous-mandat", (e) => e.textContent);
    report.steps.identity_fields = await desk.$$eval("form#declaration [id^=f-person-]", (els) => els.map((e) => e.id));
    await audit(desk, "agent-formulaire-sous-mandat");
    let posted = null;
    desk.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/v1/declarations")) posted = JSON.parse(r.postData());
    });
    await fill(desk, input.values);
    await desk.click("form#declaration button[type=submit]");
    await desk.waitForFunction(() => location.hash.startsWith("#/demarche/"));
    const id = await desk.evaluate(() => location.hash.split("/")[2]);
    report.steps.journey_id = id;
    report.steps.posted = posted;
    await desk.waitForSelector("[data-step]");
    await desk.waitForSelector("#mandat");
    report.steps.agent_sees_mandate = await desk.$eval("#mandat", (e) => e.textContent);
    await audit(desk, "agent-demarche");
    await desk.goto(`${input.gateway_url}/#/`);
    await loaded(desk);
    report.steps.agent_listed = await desk.$$eval("#mes-demarches [data-journey]", (els) => els.map((e) => e.dataset.journey));
    report.steps.agent_mandates = await desk.$$eval("#mes-mandats [data-mandate]", (els) => els.map((e) => e.dataset.mandate));
    report.steps.agent_api_listed = await desk.evaluate(async () => (await (await fetch("/v1/journeys?limit=100")).json()).items.map((j) => j.id));
    await audit(desk, "agent-accueil-apres");
    await desk.goto(`${input.gateway_url}/#/demarche/${input.other_journey}`);
    await desk.waitForFunction(() => document.title.startsWith("Page introuvable") || document.querySelector("[data-step]"));
    report.steps.agent_other_journey = await desk.$eval("h1", (e) => e.textContent);
    await signOut(desk);
    report.steps.agent_me_after = await desk.evaluate(async () => (await fetch("/v1/me")).status);

    const home = await newPage(await browser.createBrowserContext());
    await signIn(home, input.person);
    await loaded(home);
    report.steps.usager_item = await home.$eval(`#mes-demarches a[href="#/demarche/${id}"]`, (a) => a.parentElement.textContent);
    await audit(home, "usager-accueil-mandat");
    await home.goto(`${input.gateway_url}/#/demarche/${id}`);
    await home.waitForSelector("[data-step]");
    await home.waitForSelector("#mandat");
    report.steps.usager_sees_mandate = await home.$eval("#mandat", (e) => e.textContent);
    await audit(home, "usager-demarche-mandat");
    await home.goto(`${input.gateway_url}/parcours/${id}`, { waitUntil: "networkidle0" });
    report.steps.page_mandate = await home.$eval("#mandat", (e) => e.textContent);
    await audit(home, "usager-parcours-mandat");
    await home.goto(`${input.gateway_url}/parcours`, { waitUntil: "networkidle0" });
    report.steps.page_listed = await home.$$eval("main a[href^='/parcours/']", (els) => els.map((a) => a.getAttribute("href").split("/")[2]));
  },

  // Ending mandates, by the agent and by the usager: on the agent's home
  // (asked again and kept first, then refused once by a gateway that
  // answers 503, then ended), on a journey's page by each of them, and on
  // the usager's home; each then says « terminé », when and by whom.
  async mandate_end(browser) {
    const desk = await newPage(await browser.createBrowserContext());
    await signIn(desk, input.agent);
    await loaded(desk);
    const a = input.agent_home;
    const item = `#mes-mandats li[data-mandate="${a.mandate_id}"]`;
    const focused = (page) => page.evaluate(() => {
      const el = document.activeElement;
      const described = document.getElementById(el.getAttribute("aria-describedby") || "");
      return { id: el.id, tag: el.tagName, text: el.textContent, described: described?.textContent ?? null };
    });
    const endedAt = (page, id) => page.evaluate(async (id) => (await (await fetch(`/v1/mandates/${id}`)).json()).ended_at, id);
    await desk.waitForSelector(`${item} [data-end] button`);
    report.steps.offered = await desk.$eval(`${item} [data-end] button`, (b) => ({ text: b.textContent, type: b.type,
      described: document.getElementById(b.getAttribute("aria-describedby")).textContent }));
    await audit(desk, "agent-fin-proposee");
    // Asked again, and kept.
    await desk.click(`${item} [data-end] button`);
    await desk.waitForSelector(`${item} [role=group]`);
    report.steps.question = await desk.$eval(`${item} [role=group] p`, (p) => p.textContent);
    report.steps.focus_on_question = await focused(desk);
    await audit(desk, "agent-fin-confirmation");
    await desk.click(`${item} button[id$="-non"]`);
    report.steps.focus_after_no = await focused(desk);
    report.steps.ended_after_no = await endedAt(desk, a.mandate_id);
    // The gateway refuses once (503, its database away), then ends it.
    await desk.setRequestInterception(true);
    let refusals = 0;
    const refuseOnce = (r) => {
      if (r.method() === "POST" && r.url().endsWith(`/v1/mandates/${a.mandate_id}/end`) && refusals++ === 0)
        return r.respond({ status: 503, contentType: "application/problem+json", headers: { "Retry-After": "5" },
          body: JSON.stringify({ type: "urn:mdv:problem:unavailable", title: "Service momentanément indisponible", status: 503, detail: "" }) });
      return r.continue();
    };
    desk.on("request", refuseOnce);
    await desk.click(`${item} [data-end] button`);
    await desk.waitForSelector(`${item} button[id$="-oui"]`);
    await desk.click(`${item} button[id$="-oui"]`);
    await desk.waitForSelector(`${item} .fr-alert`);
    report.steps.refusal = await desk.$eval(`${item} .fr-alert`, (e) => ({ role: e.getAttribute("role"), text: e.textContent }));
    report.steps.focus_after_refusal = await focused(desk);
    report.steps.ended_after_refusal = await endedAt(desk, a.mandate_id);
    await audit(desk, "agent-fin-refusee");
    await desk.click(`${item} button[id$="-oui"]`);
    await desk.waitForSelector("#mes-mandats #mandat-termine");
    desk.off("request", refuseOnce);
    await desk.setRequestInterception(false);
    report.steps.home_ended = {
      notice: await desk.$eval("#mandat-termine", (e) => ({ role: e.getAttribute("role"), text: e.textContent })),
      focus: await focused(desk),
      in_force: await desk.$$eval("#mes-mandats [data-mandate]", (els) => els.map((e) => e.dataset.mandate)),
      text: await desk.$eval("#mes-mandats", (e) => e.textContent),
      over: await desk.$$eval("#mandats-termines [data-mandate]", (els) => els.map((e) => ({ id: e.dataset.mandate, text: e.textContent }))),
      journeys: await desk.$$eval("#mes-demarches [data-journey]", (els) => els.map((e) => e.dataset.journey)),
    };
    await audit(desk, "agent-mandat-termine");

    // On a journey's page, the agent ends its mandate: its steps leave.
    const b = input.agent_journey;
    await desk.goto(`${input.gateway_url}/#/demarche/${b.journey_id}`);
    await desk.waitForSelector("[data-step]");
    await desk.waitForSelector("#mandat [data-end] button");
    await audit(desk, "agent-demarche-fin-proposee");
    await desk.click("#mandat [data-end] button");
    await desk.waitForSelector('#mandat button[id$="-oui"]');
    await desk.click('#mandat button[id$="-oui"]');
    await desk.waitForSelector("#mandat #mandat-termine");
    report.steps.journey_ended = {
      facts: await desk.$eval("#mandat dl", (e) => e.textContent),
      state: await desk.$eval("#mandat", (e) => e.dataset.state),
      notice: await desk.$eval("#mandat-termine", (e) => ({ role: e.getAttribute("role"), text: e.textContent })),
      focus: await focused(desk),
      buttons: await desk.$$eval("#mandat button", (els) => els.length),
      steps: await desk.$$eval("[data-step]", (els) => els.length),
      view: await desk.$eval("#demarche", (e) => e.textContent),
    };
    await audit(desk, "agent-demarche-mandat-termine");
    await desk.goto(`${input.gateway_url}/#/mandat/${b.mandate_id}`);
    await desk.waitForFunction(() => document.title.startsWith("Mandat"));
    report.steps.declare_after = { h1: await desk.$eval("h1", (e) => e.textContent), text: await desk.$eval("#app p", (e) => e.textContent) };
    await audit(desk, "agent-declarer-mandat-termine");
    await desk.goto(`${input.gateway_url}/#/demarche/${b.journey_id}`);
    await desk.waitForFunction(() => document.title.startsWith("Page introuvable") || document.querySelector("[data-step]"));
    report.steps.journey_after = await desk.$eval("h1", (e) => e.textContent);

    // The usager: a mandate with no journey yet, ended from their home.
    const home = await newPage(await browser.createBrowserContext());
    await signIn(home, input.person);
    await loaded(home);
    const d = input.usager_home;
    const mine = `#mes-mandats li[data-mandate="${d.mandate_id}"]`;
    await home.waitForSelector(`${mine} [data-end] button`);
    report.steps.usager_home_item = await home.$eval(mine, (e) => e.firstChild.textContent);
    report.steps.usager_home_offered = await home.$eval(`${mine} [data-end] button`, (b) => ({ text: b.textContent,
      described: document.getElementById(b.getAttribute("aria-describedby")).textContent }));
    await audit(home, "usager-mandats");
    await home.click(`${mine} [data-end] button`);
    await home.waitForSelector(`${mine} button[id$="-oui"]`);
    report.steps.usager_question = await home.$eval(`${mine} [role=group] p`, (p) => p.textContent);
    await audit(home, "usager-fin-confirmation");
    await home.click(`${mine} button[id$="-oui"]`);
    await home.waitForSelector("#mes-mandats #mandat-termine");
    report.steps.usager_home_ended = {
      notice: await home.$eval("#mandat-termine", (e) => ({ role: e.getAttribute("role"), text: e.textContent })),
      focus: await focused(home),
      in_force: await home.$$eval("#mes-mandats [data-mandate]", (els) => els.map((e) => e.dataset.mandate)),
      text: await home.$eval("#mes-mandats", (e) => e.textContent),
    };
    await audit(home, "usager-mandat-termine");
    // The one the agent ended, on its journey's page: by whom, no button.
    await home.goto(`${input.gateway_url}/#/demarche/${a.journey_id}`);
    await home.waitForSelector("#mandat");
    report.steps.usager_sees_agent_end = { facts: await home.$eval("#mandat dl", (e) => e.textContent),
      buttons: await home.$$eval("#mandat button", (els) => els.length) };
    await audit(home, "usager-demarche-mandat-termine-par-l-agent");
    // One in force, ended by the usager on its journey's page: the journey stays.
    const c = input.usager_journey;
    await home.goto(`${input.gateway_url}/#/demarche/${c.journey_id}`);
    await home.waitForSelector("[data-step]");
    await home.waitForSelector("#mandat [data-end] button");
    await home.click("#mandat [data-end] button");
    await home.waitForSelector('#mandat button[id$="-oui"]');
    await home.click('#mandat button[id$="-oui"]');
    await home.waitForSelector("#mandat #mandat-termine");
    report.steps.usager_journey_ended = {
      facts: await home.$eval("#mandat dl", (e) => e.textContent),
      notice: await home.$eval("#mandat-termine", (e) => ({ role: e.getAttribute("role"), text: e.textContent })),
      focus: await focused(home),
      buttons: await home.$$eval("#mandat button", (els) => els.length),
      steps: await home.$$eval("[data-step]", (els) => els.length),
    };
    await audit(home, "usager-demarche-mandat-termine");
  },

  // A form that asks for the address the register holds: pre-filled with
  // it (GET /v1/me's known), said so, and still editable.
  async prefilled(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/${input.kind}`);
    await page.waitForSelector(`form#declaration[data-kind="${input.kind}"]`);
    const values = () => page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, document.getElementById(id)?.value ?? null])), input.fields);
    report.steps.values = await values();
    report.steps.notice = await page.$eval("#f-dwelling-known", (e) => e.textContent).catch(() => null);
    await audit(page, `prerempli-${input.kind}`);
    const first = input.fields[0];
    await page.click(`#${first}`, { count: 3 });
    await page.keyboard.type(input.typed);
    report.steps.edited = (await values())[first];
  },

  // A death declared by a spouse: the address the register holds, shown
  // above the form and sent with the usager's identity as the declarant's.
  async declarant(browser) {
    const page = await newPage(browser);
    await signIn(page);
    await page.goto(`${input.gateway_url}/#/declarer/bereavement`);
    await page.waitForSelector('form#declaration[data-kind="bereavement"]');
    report.steps.shown = await page.$eval("#adresse-connue", (e) => e.textContent).catch(() => null);
    await audit(page, "deces-adresse-connue");
    await fill(page, input.values);
    const posted = [];
    page.on("request", (r) => { if (r.method() === "POST" && new URL(r.url()).pathname === "/v1/declarations") posted.push(JSON.parse(r.postData())); });
    await page.click("form#declaration button[type=submit]");
    await page.waitForFunction(() => location.hash.startsWith("#/demarche/"));
    report.steps.journey_id = await page.evaluate(() => location.hash.split("/")[2]);
    report.steps.declarant = posted[0]?.declarant ?? null;
  },
};

async function main() {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=fr-FR", "--no-first-run"],
    env: { ...process.env, LANG: "fr_FR.UTF-8", TZ: "Europe/Paris" },
  });
  try {
    await scenarios[scenario](browser);
    for (const page of await browser.pages())
      report.csp.push(...(await page.evaluate(() => window.__csp || []).catch(() => [])));
  } catch (e) {
    report.error = String(e.stack || e);
    const pages = await browser.pages();
    const last = pages[pages.length - 1];
    if (last) {
      report.error_url = last.url();
      await last.screenshot({ path: path.join(SHOTS, `${scenario}-erreur.png`), fullPage: true }).catch(() => {});
      report.error_html = (await last.content().catch(() => "")).slice(0, 4000);
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report));
}

main();
