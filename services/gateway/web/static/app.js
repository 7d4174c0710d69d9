// The usager's page (README, « The usager's page »): a few views over the
// gateway's API, chosen by the address's fragment so that every view has
// its own address and the browser's back button works:
//   #/                     greeting, the usager's journeys, what to declare
//   #/declarer/<kind>      the form of one kind of declaration
//   #/demarche/<id>        one journey, followed live (server-sent events)
//   #/mandat[/<id>]        a France services agent's mandate (agent.js)

import * as agent from "./agent.js";
import * as api from "./api.js";
import { clear, frenchDate, frenchDateTime, frenchDuration, h, randomKey } from "./dom.js";
import { clearErrors, readBody, renderFields, showErrors } from "./form.js";
import { KINDS, kindOf } from "./forms.js";

const app = document.getElementById("app");
const tools = document.getElementById("outils");
const SITE = "Mes démarches";

const STEP_STATUS = {
  pending: ["En attente", "fr-badge--new"],
  received: ["Reçue", "fr-badge--info"],
  in_progress: ["En cours", "fr-badge--info"],
  done: ["Terminée", "fr-badge--success"],
  not_applicable: ["Sans objet", ""],
  action_required: ["Action requise", "fr-badge--warning"],
  failed: ["Échec", "fr-badge--error"],
};
const JOURNEY_STATUS = {
  in_progress: ["En cours", "fr-badge--info"],
  completed: ["Terminée", "fr-badge--success"],
  action_required: ["Action requise", "fr-badge--warning"],
  failed: ["Échec", "fr-badge--error"],
};
const FINAL = new Set(["done", "not_applicable", "failed"]);

let me = null;
let live = null; // the EventSource of the journey on screen

function badge([text, cls], small = true) {
  return h("p", { class: `fr-badge ${small ? "fr-badge--sm" : ""} ${cls}`.trim() }, text);
}

// Each view sets the page's title and moves the focus to its heading, so a
// screen reader announces where the usager arrived (RGAA 8.6, 12.1).
function show(title, ...content) {
  document.title = `${title} — ${SITE}`;
  // Element.append writes null as the text "null": a view's optional parts are left out.
  clear(app).append(...content.filter((c) => c !== null && c !== undefined && c !== false));
  const heading = app.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

function loginHref() {
  return `/auth/login?return_to=${encodeURIComponent("/" + location.hash)}`;
}

function renderTools() {
  clear(tools);
  if (!me) {
    tools.append(h("div", { class: "fr-connect-group" },
      h("a", { class: "fr-connect", href: loginHref(), id: "se-connecter" },
        h("span", { class: "fr-connect__login" }, "S’identifier avec"), " ",
        h("span", { class: "fr-connect__brand" }, "FranceConnect")),
      h("p", {}, h("a", { href: "https://franceconnect.gouv.fr/", target: "_blank", rel: "noopener",
        title: "Qu’est-ce que FranceConnect ? - nouvelle fenêtre" }, "Qu’est-ce que FranceConnect ?"))));
    return;
  }
  const form = h("form", { method: "post", action: "/auth/logout", id: "deconnexion" },
    h("input", { type: "hidden", name: "csrf_token", value: api.csrf() }),
    h("ul", { class: "fr-btns-group" },
      h("li", {}, h("span", { class: "fr-btn fr-btn--tertiary-no-outline fr-icon-account-circle-line fr-btn--icon-left" },
        `${me.given_name || ""} ${me.family_name || ""}`.trim(), me.role === "agent" ? " (agent France services)" : "")),
      h("li", {}, h("button", { type: "submit", class: "fr-btn fr-icon-logout-box-r-line fr-btn--icon-left" }, "Se déconnecter"))));
  tools.append(form);
}

function signedOut() {
  show("Connexion",
    h("h1", {}, "Mes démarches"),
    h("p", { class: "fr-text--lead" }, "Déclarez une fois un moment de vie — un décès, un déménagement, un départ à l'étranger, des études, des travaux — et suivez ce que chaque administration en fait."),
    h("p", {}, "Identifiez-vous avec FranceConnect pour déclarer et suivre vos démarches : votre identité est transmise par votre compte, vous n'avez pas à la saisir."),
    h("div", { class: "fr-connect-group" },
      h("a", { class: "fr-connect", href: loginHref() },
        h("span", { class: "fr-connect__login" }, "S’identifier avec"), " ",
        h("span", { class: "fr-connect__brand" }, "FranceConnect"))));
}

function kindTitle(kind) {
  return kindOf(kind)?.title || kind;
}

// The usager's mandates in force, each with its button to end it: one
// given at a desk today may have no journey yet to show it on. Nothing
// when there is none.
function usagerMandates(box, mandates, notice) {
  const current = mandates.filter(agent.inForce);
  const onEnded = async (ended) => {
    const text = `Le mandat donné à ${ended.site || "France services"} est ${agent.endLine(ended, me)}.`;
    try {
      usagerMandates(box, await agent.loadMandates(), text);
    } catch (e) {
      clear(box).append(agent.endedNotice(text));
    }
    box.querySelector("#mandat-termine").focus();
  };
  // Element.append writes null as the text "null": h() leaves it out.
  box.replaceChildren(h("div", {},
    current.length || notice ? h("h2", { class: "fr-mt-6w" }, "Vos mandats à France services") : null,
    notice ? agent.endedNotice(notice) : null,
    current.length ? h("ul", {}, current.map((m) => h("li", { class: "fr-mb-3w", "data-mandate": m.id },
      `Mandat donné le ${frenchDateTime(m.created_at)} à un agent de ${m.site || "France services"} pour « ${kindTitle(m.kind)} », valable jusqu'au ${frenchDateTime(m.expires_at)}.`,
      agent.endControl(m, me, onEnded)))) : null));
}

async function home() {
  const list = h("div", { id: "mes-demarches" }, h("p", {}, "Chargement de vos démarches…"));
  const mandatesBox = h("div", { id: "mes-mandats" });
  const name = [me.given_name?.split(" ")[0], me.family_name].filter(Boolean).join(" ");
  show("Accueil",
    h("h1", {}, `Bonjour ${name}`),
    h("h2", {}, "Vos démarches"),
    list,
    mandatesBox,
    h("h2", { class: "fr-mt-6w" }, "Déclarer"),
    h("ul", { class: "fr-grid-row fr-grid-row--gutters mdv-kinds" },
      KINDS.map((k) => h("li", { class: "fr-col-12 fr-col-md-6 fr-col-lg-4" },
        h("div", { class: "fr-tile fr-enlarge-link" },
          h("div", { class: "fr-tile__body" },
            h("div", { class: "fr-tile__content" },
              h("h3", { class: "fr-tile__title" }, h("a", { href: `#/declarer/${k.kind}` }, k.title)),
              h("p", { class: "fr-tile__detail" }, k.moment))))))));
  try {
    const [page, mandates] = await Promise.all([api.get("/v1/journeys?limit=50"), agent.loadMandates()]);
    usagerMandates(mandatesBox, mandates, null);
    clear(list);
    if (!page.items.length) {
      list.append(h("p", {}, "Vous n'avez encore aucune démarche."));
      return;
    }
    list.append(h("ul", { class: "mdv-journeys" }, page.items.map((j) => h("li", {},
      h("a", { href: `#/demarche/${j.id}`, class: "fr-link" }, kindTitle(j.kind)),
      ` — déclarée le ${frenchDate(j.created_at)} `,
      agent.mandateOf(mandates, j.id) ? "pour vous par France services " : null,
      badge(JOURNEY_STATUS[j.status] || [j.status, ""])))));
  } catch (e) {
    clear(list).append(alertBox("error", "Vos démarches n'ont pas pu être chargées", e.problem?.title || e.message));
  }
}

function alertBox(type, title, text) {
  return h("div", { class: `fr-alert fr-alert--${type} fr-mb-3w`, role: type === "error" ? "alert" : "status" },
    h("h3", { class: "fr-alert__title" }, title), text ? h("p", {}, text) : null);
}

// The usager's pivot identity as FranceConnect gives it, in the contract's
// words; complete when every part is there (then it is not asked again).
function selfIdentity() {
  const sex = { female: "F", male: "M" }[me.gender];
  const abroad = me.birthcountry && me.birthcountry !== "99100";
  const identity = {
    family_name: me.family_name || undefined,
    given_names: me.given_name ? me.given_name.split(/\s+/) : undefined,
    sex,
    birth_date: me.birthdate || undefined,
    birth_place: (abroad ? me.birthcountry : me.birthplace) || undefined,
  };
  return { identity, complete: Object.values(identity).every((v) => v !== undefined) };
}

let rules = null;
async function loadRules() {
  if (!rules) {
    const [renovation, bourse] = await Promise.all([
      fetch("/static/rules/maprimerenov.json").then((r) => r.json()),
      fetch("/static/rules/bourse.json").then((r) => r.json()),
    ]);
    rules = { renovation, bourse };
  }
  return rules;
}

function identitySummary(self) {
  const id = self.identity;
  return h("div", { class: "fr-callout fr-mb-4w" },
    h("h2", { class: "fr-callout__title fr-h5" }, "Votre identité, transmise par FranceConnect"),
    h("p", { class: "fr-callout__text" },
      `${id.given_names.join(" ")} ${id.family_name}, ${id.sex === "F" ? "née" : "né"} le ${frenchDate(id.birth_date)}`),
    h("p", {}, "Vous n'avez pas à la saisir : chaque administration la reçoit telle quelle."));
}

// The address the administrations already know, sent with the usager's
// identity (a "self" field's prefill): shown as it goes, with what it is
// for (the field's hint), since the form does not ask it.
function knownAddressSummary(def, context) {
  const f = def.fields.find((x) => x.type === "self" && x.prefill);
  const a = f && context.known?.[f.prefill];
  if (!a) return null;
  return h("div", { class: "fr-callout fr-mb-4w", id: "adresse-connue" },
    h("h2", { class: "fr-callout__title fr-h5" }, "Votre adresse, enregistrée par l'ANTS"),
    h("p", { class: "fr-callout__text" }, `${a.lines.join(", ")}, ${a.postal_code} ${a.city}`),
    h("p", {}, "Elle est jointe à votre déclaration."),
    f.hint ? h("p", {}, f.hint) : null);
}

// The form of a kind; under a mandate (an agent's), the usager's identity
// is the mandate's and the body names the mandate.
async function declare(kind, mandate = null) {
  const def = kindOf(kind);
  if (!def) return notFound();
  const self = mandate ? agent.identityOfMandate(mandate) : selfIdentity();
  const context = { self, known: (!mandate && me.known) || {}, ...(await loadRules()) };
  const usesSelf = def.fields.some((f) => f.type === "self");
  const summary = h("div", { id: "erreurs", tabindex: "-1" });
  let key = randomKey();
  const submit = h("button", { type: "submit", class: "fr-btn" }, "Déclarer");
  const form = h("form", { id: "declaration", "data-kind": def.kind, novalidate: true }, renderFields(def, context),
    h("p", { class: "fr-mt-4w" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return; // a double click declares once
    submit.disabled = true;
    clearErrors(form);
    clear(summary);
    try {
      const body = readBody(form, def, context);
      if (mandate) body.mandate_id = mandate.id;
      const accepted = await api.post("/v1/declarations", body, key);
      key = randomKey();
      location.hash = `#/demarche/${accepted.journey_id}`;
    } catch (e) {
      submit.disabled = false;
      summary.append(errorSummary(e, showErrors(form, e.problem?.errors || []), "La déclaration n'a pas pu être envoyée"));
      summary.focus();
    }
  });
  show(def.title,
    h("p", { class: "fr-mb-1w" }, h("a", { class: "fr-link fr-icon-arrow-left-line fr-link--icon-left", href: "#/" }, mandate ? "Accueil" : "Mes démarches")),
    h("h1", {}, def.title),
    h("p", { class: "fr-text--lead" }, def.summary),
    h("p", { class: "fr-hint-text" }, "Sauf mention « facultatif », tous les champs sont obligatoires."),
    mandate ? agent.mandateSummary(mandate) : null,
    !mandate && usesSelf && context.self.complete ? identitySummary(context.self) : null,
    knownAddressSummary(def, context),
    summary, form);
}

// The alert above a form that the API refused: its title, then each field
// it named, linked to its input.
function errorSummary(e, shown, fallback) {
  return h("div", { class: "fr-alert fr-alert--error fr-mb-3w", role: "alert" },
    h("h2", { class: "fr-alert__title" }, e.problem?.title || fallback),
    shown.length ? h("ul", {}, shown.map((s) => h("li", {},
      s.id ? h("a", { href: `#${s.id}`, onclick: (ev) => { ev.preventDefault(); document.getElementById(s.id).focus(); } },
        `${labelOf(s.id)} : ${s.text}`) : `${s.field} : ${s.text}`))) : null);
}

// An agent's declaration under one of their mandates (#/mandat/<id>).
async function declareUnderMandate(id) {
  const mandate = await agent.loadMandate(id);
  if (!mandate) return notFound();
  if (!agent.inForce(mandate)) {
    const title = mandate.ended_at ? "Mandat terminé" : "Mandat expiré";
    return show(title, h("h1", {}, title),
      h("p", {}, `Ce mandat est ${agent.endLine(mandate, me)} : enregistrez-en un nouveau avec l'usager.`),
      h("p", {}, h("a", { href: "#/mandat" }, "Enregistrer un mandat")));
  }
  return declare(mandate.kind, mandate);
}

function labelOf(id) {
  const label = document.querySelector(`label[for="${CSS.escape(id)}"]`) || document.getElementById(`${id}-legend`);
  return label ? label.childNodes[0].textContent.trim() : id;
}

function notFound() {
  show("Page introuvable", h("h1", {}, "Page introuvable"),
    h("p", {}, h("a", { href: "#/" }, "Retour à mes démarches")));
}

// ---- one journey ----

function observed(step) {
  if (!FINAL.has(step.status) || !step.received_at) return null;
  return frenchDuration(new Date(step.updated_at) - new Date(step.received_at));
}

function stepItem(journey, step, index) {
  const id = `etape-${index}`;
  const rows = [
    ["Administration", step.administration || "—"],
    ["Détail", step.detail || "—"],
    ["Délai annoncé", step.due_at ? `au plus tard le ${frenchDate(step.due_at)}` : "—"],
  ];
  const seen = observed(step);
  if (seen) rows.push(["Délai constaté", `${seen} (terminée le ${frenchDateTime(step.updated_at)})`]);
  return h("li", { class: "fr-card fr-card--no-arrow fr-mb-3w", id, "data-step": step.code, "data-status": step.status },
    h("div", { class: "fr-card__body" }, h("div", { class: "fr-card__content" },
      h("h3", { class: "fr-card__title" }, step.label || step.code),
      h("div", { class: "fr-card__start" }, badge(STEP_STATUS[step.status] || [step.status, ""])),
      h("dl", { class: "mdv-facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      step.status === "action_required" ? actions(journey, step) : null)));
}

function actions(journey, step) {
  const box = h("div", { class: "fr-mt-2w" });
  const choices = step.code === "housing.residence_reviewed"
    ? [["withdraw", "Retirer le dossier"], ["keep", "Garder le dossier"]] : [[null, "Confirmer"]];
  const key = randomKey();
  box.append(h("ul", { class: "fr-btns-group fr-btns-group--inline-md" }, choices.map(([choice, text], i) =>
    h("li", {}, h("button", {
      type: "button", class: `fr-btn ${i ? "fr-btn--secondary" : ""}`, "data-action": step.code,
      "aria-describedby": `${step.code}-action`,
      onclick: async (ev) => {
        for (const b of box.querySelectorAll("button")) b.disabled = true;
        const body = choice ? { step: step.code, choice } : { step: step.code };
        try {
          await api.post(`/v1/journeys/${journey.id}/confirmations`, body, `${key}-${choice || "confirm"}`);
          box.replaceChildren(h("p", { class: "fr-message fr-message--valid", role: "status" }, "C'est envoyé : l'étape va se mettre à jour."));
        } catch (e) {
          for (const b of box.querySelectorAll("button")) b.disabled = false;
          box.append(alertBox("error", e.problem?.title || "L'action n'a pas abouti", null));
          ev.target.focus();
        }
      },
    }, text)))));
  box.append(h("p", { class: "fr-sr-only", id: `${step.code}-action` }, `Étape : ${step.label || step.code}`));
  return box;
}

// Every organisme that received some of the journey's data (its
// recipients): what it received, why, when, and whether it acknowledged.
// The server-rendered page (pages_recipients.c) says the same.
function recipientItem(r) {
  const why = r.basis === "chosen" ? "Transmis avec votre accord" : "Transmis en application de la loi";
  return h("li", { class: "fr-mb-3w", "data-partner": r.partner, "data-acknowledged": r.acknowledged_at ? "oui" : "non" },
    h("h3", { class: "fr-h6 fr-mb-1w" }, r.administration),
    h("p", { class: "fr-mb-1w" }, `Transmis le ${frenchDateTime(r.notified_at)}. `,
      r.acknowledged_at ? `Accusé de réception le ${frenchDateTime(r.acknowledged_at)}.` : "En attente d'accusé de réception."),
    h("p", { class: "fr-mb-1w" }, "Informations transmises :"),
    h("ul", {}, r.fields.map((f) => h("li", {}, f.label))),
    h("p", { class: "fr-text--sm" }, `${why} : ${r.legal_basis}`));
}

function recipients(journey) {
  const list = journey.recipients || [];
  return h("section", { class: "fr-mt-6w", "aria-labelledby": "destinataires", id: "destinataires-section" },
    h("h2", { id: "destinataires" }, "Destinataires"),
    list.length
      ? [h("p", {}, "Les organismes qui ont reçu des informations de cette démarche, lesquelles, et pourquoi."),
        h("ul", { class: "fr-raw-list" }, list.map(recipientItem))]
      : h("p", {}, "Aucun organisme partenaire n'a reçu d'informations de cette démarche."));
}

// The usager's rating once the démarche is complete (Services Publics+):
// the form is the server-rendered page's (/parcours/{id}#avis), a plain
// form with its CSRF field, so that a live update of this page never
// empties a form being filled. An agent rates nothing: the usager judges.
function ratingSection(journey) {
  if (journey.status !== "completed" || me.role === "agent") return null;
  const rated = journey.rating;
  return h("section", { class: "fr-mt-4w", id: "avis", "aria-labelledby": "avis-titre" },
    h("h2", { id: "avis-titre" }, "Votre avis sur cette démarche"),
    rated
      ? h("p", {}, `Vous avez donné la note de ${rated.score} sur 10.`)
      : h("p", {}, h("a", { class: "fr-link", id: "donner-avis", href: `/parcours/${encodeURIComponent(journey.id)}#avis` },
        "Donner votre avis sur cette démarche")));
}

function renderJourney(view, journey) {
  const statusNow = h("p", { class: "fr-sr-only", role: "status", id: "mise-a-jour" });
  clear(view).append(
    h("div", { class: "fr-mb-4w" }, badge(JOURNEY_STATUS[journey.status] || [journey.status, ""], false),
      h("p", { class: "fr-mt-1w" }, `Déclarée le ${frenchDateTime(journey.created_at)}`)),
    h("h2", {}, "Les étapes"),
    h("ol", { class: "mdv-steps" }, journey.steps.map((s, i) => stepItem(journey, s, i))),
    recipients(journey),
    ...[ratingSection(journey)].filter(Boolean),
    statusNow);
  return statusNow;
}

// The mandate of the journey on screen just ended: the usager keeps
// following their journey; the agent no longer sees it (the gateway
// answers them 404 from now on), so its steps leave the page.
function mandateEnded(view) {
  if (me.role !== "agent") return;
  if (live) {
    live.close();
    live = null;
  }
  clear(view).append(h("p", {}, "Cette démarche reste celle de l'usager : vous ne la voyez plus."),
    h("p", {}, h("a", { class: "fr-link", href: "#/" }, "Retour à l'accueil")));
}

async function journeyView(id) {
  const view = h("div", { id: "demarche" });
  let journey;
  try {
    journey = await api.get(`/v1/journeys/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) return notFound();
    throw e;
  }
  const mandate = agent.mandateOf(await agent.loadMandates(), journey.id);
  show(kindTitle(journey.kind),
    h("p", { class: "fr-mb-1w" }, h("a", { class: "fr-link fr-icon-arrow-left-line fr-link--icon-left", href: "#/" }, "Mes démarches")),
    h("h1", {}, kindTitle(journey.kind)), mandate ? agent.mandateSection(mandate, me, () => mandateEnded(view)) : null, view);
  renderJourney(view, journey);
  // Live: the gateway sends the journey each time it changes; the browser
  // reconnects by itself (with Last-Event-ID) when the stream ends.
  live = new EventSource(`/v1/journeys/${encodeURIComponent(id)}/events`);
  live.addEventListener("journey", (event) => {
    const next = JSON.parse(event.data);
    const focused = document.activeElement?.id;
    const status = renderJourney(view, next);
    status.textContent = `Démarche mise à jour à ${new Date().toLocaleTimeString("fr-FR")}`;
    view.dataset.updatedAt = next.updated_at;
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  });
}

// ---- routing ----

async function route() {
  if (live) {
    live.close();
    live = null;
  }
  const [, view, arg] = (location.hash || "#/").split("/");
  if (!me) return signedOut();
  try {
    if (view === "demarche") return await journeyView(arg);
    if (me.role === "agent") {
      if (view === "mandat") return arg ? await declareUnderMandate(arg) : agent.newMandate();
      if (!view) return await agent.agentHome(me);
      return notFound();
    }
    if (view === "declarer") return await declare(arg);
    if (!view) return await home();
    return notFound();
  } catch (e) {
    show("Erreur", h("h1", {}, "Une erreur est survenue"), alertBox("error", e.problem?.title || "Le service ne répond pas", "Réessayez dans un instant."));
  }
}

agent.init({ show, alertBox, badge, errorSummary, journeyBadge: (status) => badge(JOURNEY_STATUS[status] || [status, ""]) });

async function start() {
  try {
    me = await api.loadMe();
  } catch {
    me = null;
  }
  renderTools();
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

start();
