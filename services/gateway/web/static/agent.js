// A France services agent's views (README, « The agent's mandate flow »),
// and the mandate as both the agent and the usager it names see it on a
// journey:
//   #/            the agent's home: their mandates of the day, the
//                 journeys declared under them (and no other)
//   #/mandat      record a mandate for a usager who is at the desk: who
//                 (their pivot identity, as on their papers), for which
//                 démarche; when is the gateway's
//   #/mandat/<id> declare under that mandate (app.js's form, with the
//                 usager's identity taken from the mandate, not asked)
// The page's shared pieces (show, alertBox, badge…) come from app.js
// through init(), so that this module holds the agent's flow only.

import * as api from "./api.js";
import { clear, frenchDate, frenchDateTime, h } from "./dom.js";
import { clearErrors, fieldset, input, radios, select, showErrors } from "./form.js";
import { KINDS, kindOf } from "./forms.js";

const FRANCE = "99100";
let ui = null;

// ui: {show, alertBox, badge, journeyBadge, errorSummary}
export function init(shared) {
  ui = shared;
}

function kindTitle(kind) {
  return kindOf(kind)?.title || kind;
}

// « Camille DUBOIS, née le 12 avril 1990 » from a mandate's usager (the
// provider's claims: given_name, family_name, birthdate, gender).
export function usagerName(usager) {
  return `${usager.given_name} ${usager.family_name}`.trim();
}

function usagerLine(usager) {
  return `${usagerName(usager)}, ${usager.gender === "female" ? "née" : "né"} le ${frenchDate(usager.birthdate)}`;
}

// In force: neither ended by one side nor past its day.
export function inForce(mandate) {
  return !mandate.ended_at && new Date(mandate.expires_at) > new Date();
}

// Who ended it, as the reader says it: « par vous » when they did.
function endedBy(mandate, me) {
  const mine = me.role === "agent" ? "agent" : "usager";
  if (mandate.ended_by === mine) return "par vous";
  return mandate.ended_by === "agent" ? "par l'agent" : "par l'usager";
}

// « terminé le 2 décembre 2026 à 10:05, par vous », or « expiré le … ».
export function endLine(mandate, me) {
  if (mandate.ended_at) return `terminé le ${frenchDateTime(mandate.ended_at)}, ${endedBy(mandate, me)}`;
  return `expiré le ${frenchDateTime(mandate.expires_at)}`;
}

export async function loadMandates() {
  return (await api.get("/v1/mandates")).items;
}

// The mandate a journey was declared under, or null.
export function mandateOf(mandates, journeyId) {
  return mandates.find((m) => m.journeys.includes(journeyId)) || null;
}

// ---- ending a mandate ----

// What ending it means, for the one who ends it (the server-rendered
// page, pages_mandate.c, says the same on a journey).
function endConsequence(me) {
  return me.role === "agent"
    ? "Fin du rendez-vous : vous ne pourrez plus déclarer sous ce mandat ni voir ses démarches, qui restent celles de l'usager."
    : "L'agent ne pourra plus déclarer pour vous sous ce mandat ni voir ses démarches ; elles restent les vôtres.";
}

function endQuestion(mandate, me) {
  const whose = me.role === "agent" ? `de ${usagerName(mandate.usager)}` : `donné à ${mandate.site || "France services"}`;
  return `Mettre fin maintenant au mandat ${whose} pour « ${kindTitle(mandate.kind)} » ? C'est définitif : une autre démarche demandera un nouveau mandat.`;
}

// « Mettre fin au mandat » for a mandate in force, asked for again before
// anything is sent (« Oui » / « Non »), then POST /v1/mandates/{id}/end.
// onEnded(ended) gets the mandate as the gateway answered it, ended; the
// caller shows it and what follows. A refusal is shown beside the buttons,
// which take the focus back, as a step's action does (app.js).
export function endControl(mandate, me, onEnded) {
  const id = `fin-${mandate.id}`;
  const box = h("div", { class: "fr-mt-2w mdv-end", "data-end": mandate.id });
  const ask = () => {
    const button = h("button", { type: "button", class: "fr-btn fr-btn--secondary", id, "aria-describedby": `${id}-effet`, onclick: confirm },
      "Mettre fin au mandat");
    box.replaceChildren(h("p", { class: "fr-text--sm fr-mb-1w", id: `${id}-effet` }, endConsequence(me)), button);
    return button;
  };
  const confirm = () => {
    const yes = h("button", { type: "button", class: "fr-btn", id: `${id}-oui`, "aria-describedby": `${id}-question`, onclick: send },
      "Oui, mettre fin au mandat");
    const no = h("button", { type: "button", class: "fr-btn fr-btn--secondary", id: `${id}-non`, onclick: () => ask().focus() },
      "Non, le garder");
    box.replaceChildren(h("div", { role: "group", "aria-labelledby": `${id}-question` },
      h("p", { class: "fr-mb-1w", id: `${id}-question` }, endQuestion(mandate, me)),
      h("p", { class: "fr-text--sm fr-mb-1w" }, endConsequence(me)),
      h("ul", { class: "fr-btns-group fr-btns-group--inline-md" }, h("li", {}, yes), h("li", {}, no))));
    yes.focus();
  };
  const send = async (ev) => {
    const buttons = box.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    box.querySelector(".fr-alert")?.remove();
    try {
      onEnded(await api.post(`/v1/mandates/${encodeURIComponent(mandate.id)}/end`));
    } catch (e) {
      for (const b of buttons) b.disabled = false;
      box.append(ui.alertBox("error", e.problem?.title || "Le mandat n'a pas pu être terminé", "Il est toujours en cours : réessayez dans un instant."));
      ev.target.focus();
    }
  };
  ask();
  return box;
}

// The line that says it is done, focused so that a screen reader reads it
// where the button was.
export function endedNotice(text) {
  return h("p", { class: "fr-message fr-message--valid fr-mt-2w", role: "status", tabindex: "-1", id: "mandat-termine" }, text);
}

// The mandate on a journey's page: who declared for whom, when, for which
// démarche, and until when or how it ended; while it is in force, the
// button to end it. The usager reads « pour vous », the agent the usager's
// name. onEnded(ended), after the section shows it ended.
export function mandateSection(mandate, me, onEnded = () => {}) {
  const forMe = me.role !== "agent";
  const rows = [
    ["Pour", forMe ? `vous (${usagerLine(mandate.usager)})` : usagerLine(mandate.usager)],
    ["Par", `un agent de ${mandate.site || "France services"}`],
    ["Mandat donné le", frenchDateTime(mandate.created_at)],
    ["Pour la démarche", kindTitle(mandate.kind)],
    inForce(mandate) ? ["Valable jusqu'au", frenchDateTime(mandate.expires_at)] : ["Fin du mandat", endLine(mandate, me)],
  ];
  const section = h("section", { class: "fr-callout fr-mb-4w", id: "mandat", "aria-labelledby": "mandat-titre",
    "data-state": inForce(mandate) ? "en-cours" : "termine" },
  h("h2", { class: "fr-callout__title fr-h5", id: "mandat-titre" },
    forMe ? "Déclarée pour vous par France services" : "Déclarée sous mandat"),
  h("dl", { class: "mdv-facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  inForce(mandate) ? endControl(mandate, me, (ended) => {
    const next = mandateSection(ended, me, onEnded);
    next.append(endedNotice(`Mandat ${endLine(ended, me)}.`));
    section.replaceWith(next);
    onEnded(ended);
    next.querySelector("#mandat-termine").focus();
  }) : null);
  return section;
}

// ---- the agent's home ----

function declaredCount(m) {
  if (!m.journeys.length) return null;
  return ` (${m.journeys.length === 1 ? "1 démarche déclarée" : `${m.journeys.length} démarches déclarées`})`;
}

function mandateItem(m, me, onEnded) {
  return h("li", { class: "fr-mb-3w", "data-mandate": m.id },
    h("strong", {}, usagerName(m.usager)), ` — ${kindTitle(m.kind)}, mandat du ${frenchDateTime(m.created_at)}`,
    declaredCount(m), " ", h("a", { class: "fr-link", href: `#/mandat/${m.id}` }, `Déclarer pour ${usagerName(m.usager)}`),
    endControl(m, me, onEnded));
}

// A mandate of the day that is over: who for, and when and by whom it ended.
function endedItem(m, me) {
  return h("li", { class: "fr-mb-2w", "data-mandate": m.id, "data-state": "termine" },
    h("strong", {}, usagerName(m.usager)), ` — ${kindTitle(m.kind)}, mandat du ${frenchDateTime(m.created_at)}`,
    declaredCount(m), ` : ${endLine(m, me)}.`);
}

const DAY_MS = 24 * 3600 * 1000;

// The agent's mandates in force (each with its button to end it), those
// of the day already over, and the journeys they may still see. notice: a
// line to announce first (a mandate just ended), which takes the focus.
async function agentLists(me, mine, over, list, notice) {
  const [mandates, page] = await Promise.all([loadMandates(), api.get("/v1/journeys?limit=50")]);
  const current = mandates.filter(inForce);
  const today = mandates.filter((m) => !inForce(m) && Date.now() - new Date(m.created_at) < DAY_MS);
  const onEnded = (ended) => agentLists(me, mine, over, list,
    `Le mandat de ${usagerName(ended.usager)} est ${endLine(ended, me)} : ses démarches restent les siennes.`)
    .catch((e) => clear(mine).append(ui.alertBox("error", "Vos mandats n'ont pas pu être chargés", e.problem?.title || e.message)));
  // Element.append writes null as the text "null": h() leaves it out.
  mine.replaceChildren(h("div", {}, notice ? endedNotice(notice) : null,
    current.length ? h("ul", {}, current.map((m) => mandateItem(m, me, onEnded))) : h("p", {}, "Aucun mandat en cours.")));
  clear(over).append(today.length ? h("ul", {}, today.map((m) => endedItem(m, me))) : h("p", {}, "Aucun mandat terminé aujourd'hui."));
  clear(list).append(page.items.length ? h("ul", { class: "mdv-journeys" }, page.items.map((j) => journeyItem(j, mandates)))
    : h("p", {}, "Aucune démarche déclarée sous vos mandats."));
  if (notice) mine.querySelector("#mandat-termine").focus();
}

function journeyItem(j, mandates) {
  const m = mandateOf(mandates, j.id);
  return h("li", { "data-journey": j.id },
    h("a", { href: `#/demarche/${j.id}`, class: "fr-link" }, kindTitle(j.kind)),
    m ? ` pour ${usagerName(m.usager)}` : null,
    ` — déclarée le ${frenchDate(j.created_at)} `, ui.journeyBadge(j.status));
}

export async function agentHome(me) {
  const mine = h("div", { id: "mes-mandats" }, h("p", {}, "Chargement de vos mandats…"));
  const over = h("div", { id: "mandats-termines" }, h("p", {}, "Chargement de vos mandats…"));
  const list = h("div", { id: "mes-demarches" }, h("p", {}, "Chargement des démarches…"));
  ui.show("Accueil agent",
    h("h1", {}, `Bonjour ${[me.given_name?.split(" ")[0], me.family_name].filter(Boolean).join(" ")}`),
    h("p", { class: "fr-text--lead" }, `Agent ${me.site || "France services"}`),
    h("p", {}, "Vous déclarez pour un usager présent au guichet, qui vous le demande, sous un mandat : une démarche, pour la journée. L'usager retrouve la démarche et le mandat quand il se connecte."),
    h("p", {}, h("a", { class: "fr-btn fr-icon-add-line fr-btn--icon-left", href: "#/mandat", id: "nouveau-mandat" }, "Enregistrer un mandat")),
    h("h2", { class: "fr-mt-4w" }, "Vos mandats en cours"), mine,
    h("h2", { class: "fr-mt-4w" }, "Démarches déclarées sous vos mandats"), list,
    h("h2", { class: "fr-mt-4w" }, "Vos mandats terminés aujourd'hui"), over);
  try {
    await agentLists(me, mine, over, list, null);
  } catch (e) {
    clear(mine);
    clear(over);
    clear(list).append(ui.alertBox("error", "Vos mandats n'ont pas pu être chargés", e.problem?.title || e.message));
  }
}

// ---- recording a mandate ----

const GENDERS = [["female", "Femme"], ["male", "Homme"]];

function mandateFields() {
  return [
    fieldset("L'usager, tel que l'indiquent ses papiers d'identité",
      input("usager.family_name", "Nom de naissance", { autocomplete: "off", hint: "En lettres, comme à l'état civil" }),
      input("usager.given_name", "Prénoms", { autocomplete: "off", hint: "Tous les prénoms, dans l'ordre de l'état civil" }),
      radios("usager.gender", "Sexe", GENDERS),
      input("usager.birthdate", "Date de naissance", { type: "date" }),
      input("usager.birthcountry", "Pays de naissance", { value: FRANCE, hint: "Code INSEE du pays : 99100 pour la France, 99 et 3 chiffres pour un autre pays" }),
      input("usager.birthplace", "Commune de naissance", { hint: "Code INSEE de la commune (5 caractères) ; laissez vide pour une personne née à l'étranger" })),
    select("kind", "La démarche que l'usager vous demande de faire", KINDS.map((k) => [k.kind, k.title])),
  ];
}

function readMandate(form) {
  const value = (name) => {
    const els = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    if (els[0]?.type === "radio") return Array.from(els).find((e) => e.checked)?.value;
    const v = els[0]?.value.trim();
    return v === "" ? undefined : v;
  };
  const usager = {};
  for (const k of ["given_name", "family_name", "gender", "birthdate", "birthcountry"]) usager[k] = value(`usager.${k}`);
  // FranceConnect gives an empty birthplace for a person born abroad.
  usager.birthplace = value("usager.birthplace") ?? (usager.birthcountry && usager.birthcountry !== FRANCE ? "" : undefined);
  return { kind: value("kind"), usager };
}

export function newMandate() {
  const summary = h("div", { id: "erreurs", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "fr-btn" }, "Enregistrer le mandat");
  const form = h("form", { id: "mandat-form", novalidate: true }, mandateFields(), h("p", { class: "fr-mt-4w" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return; // a double click records one mandate
    submit.disabled = true;
    clearErrors(form);
    clear(summary);
    try {
      const mandate = await api.post("/v1/mandates", readMandate(form));
      location.hash = `#/mandat/${mandate.id}`;
    } catch (e) {
      submit.disabled = false;
      summary.append(ui.errorSummary(e, showErrors(form, e.problem?.errors || []), "Le mandat n'a pas pu être enregistré"));
      summary.focus();
    }
  });
  ui.show("Enregistrer un mandat",
    h("p", { class: "fr-mb-1w" }, h("a", { class: "fr-link fr-icon-arrow-left-line fr-link--icon-left", href: "#/" }, "Accueil")),
    h("h1", {}, "Enregistrer un mandat"),
    h("p", { class: "fr-text--lead" }, "L'usager est devant vous et vous demande de faire une démarche pour lui."),
    h("p", {}, "Le mandat couvre une démarche, pour la journée. L'usager le verra, avec la démarche, en se connectant avec FranceConnect."),
    h("p", { class: "fr-hint-text" }, "Tous les champs sont obligatoires, sauf la commune pour une personne née à l'étranger."),
    summary, form);
}

// ---- declaring under a mandate ----

// The usager's pivot identity in the contract's words, from the mandate.
export function identityOfMandate(mandate) {
  const u = mandate.usager;
  const abroad = u.birthcountry !== FRANCE;
  return {
    identity: {
      family_name: u.family_name,
      given_names: u.given_name.split(/\s+/),
      sex: u.gender === "female" ? "F" : "M",
      birth_date: u.birthdate,
      birth_place: abroad ? u.birthcountry : u.birthplace,
    },
    complete: true,
  };
}

export function mandateSummary(mandate) {
  return h("div", { class: "fr-callout fr-mb-4w", id: "sous-mandat" },
    h("h2", { class: "fr-callout__title fr-h5" }, `Pour ${usagerName(mandate.usager)}, sous mandat`),
    h("p", { class: "fr-callout__text" }, usagerLine(mandate.usager)),
    h("p", {}, `Mandat du ${frenchDateTime(mandate.created_at)} pour « ${kindTitle(mandate.kind)} », valable jusqu'au ${frenchDateTime(mandate.expires_at)}. L'identité de l'usager est reprise du mandat : vous n'avez pas à la saisir.`));
}

export async function loadMandate(id) {
  try {
    return await api.get(`/v1/mandates/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}
