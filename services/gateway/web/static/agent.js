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

function active(mandate) {
  return new Date(mandate.expires_at) > new Date();
}

export async function loadMandates() {
  return (await api.get("/v1/mandates")).items;
}

// The mandate a journey was declared under, or null.
export function mandateOf(mandates, journeyId) {
  return mandates.find((m) => m.journeys.includes(journeyId)) || null;
}

// The mandate on a journey's page: who declared for whom, when, for which
// démarche. The usager reads « pour vous », the agent the usager's name.
export function mandateSection(mandate, me) {
  const forMe = me.role !== "agent";
  const rows = [
    ["Pour", forMe ? `vous (${usagerLine(mandate.usager)})` : usagerLine(mandate.usager)],
    ["Par", `un agent de ${mandate.site || "France services"}`],
    ["Mandat donné le", frenchDateTime(mandate.created_at)],
    ["Pour la démarche", kindTitle(mandate.kind)],
    ["Valable jusqu'au", frenchDateTime(mandate.expires_at)],
  ];
  return h("section", { class: "fr-callout fr-mb-4w", id: "mandat", "aria-labelledby": "mandat-titre" },
    h("h2", { class: "fr-callout__title fr-h5", id: "mandat-titre" },
      forMe ? "Déclarée pour vous par France services" : "Déclarée sous mandat"),
    h("dl", { class: "mdv-facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}

// ---- the agent's home ----

function mandateItem(m) {
  return h("li", { class: "fr-mb-2w", "data-mandate": m.id },
    h("strong", {}, usagerName(m.usager)), ` — ${kindTitle(m.kind)}, mandat du ${frenchDateTime(m.created_at)}`,
    m.journeys.length ? ` (${m.journeys.length === 1 ? "1 démarche déclarée" : `${m.journeys.length} démarches déclarées`})` : null,
    " ", h("a", { class: "fr-link", href: `#/mandat/${m.id}` }, `Déclarer pour ${usagerName(m.usager)}`));
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
  const list = h("div", { id: "mes-demarches" }, h("p", {}, "Chargement des démarches…"));
  ui.show("Accueil agent",
    h("h1", {}, `Bonjour ${[me.given_name?.split(" ")[0], me.family_name].filter(Boolean).join(" ")}`),
    h("p", { class: "fr-text--lead" }, `Agent ${me.site || "France services"}`),
    h("p", {}, "Vous déclarez pour un usager présent au guichet, qui vous le demande, sous un mandat : une démarche, pour la journée. L'usager retrouve la démarche et le mandat quand il se connecte."),
    h("p", {}, h("a", { class: "fr-btn fr-icon-add-line fr-btn--icon-left", href: "#/mandat", id: "nouveau-mandat" }, "Enregistrer un mandat")),
    h("h2", { class: "fr-mt-4w" }, "Vos mandats en cours"), mine,
    h("h2", { class: "fr-mt-4w" }, "Démarches déclarées sous vos mandats"), list);
  try {
    const [mandates, page] = await Promise.all([loadMandates(), api.get("/v1/journeys?limit=50")]);
    const current = mandates.filter(active);
    clear(mine).append(current.length ? h("ul", {}, current.map(mandateItem)) : h("p", {}, "Aucun mandat en cours."));
    clear(list).append(page.items.length ? h("ul", { class: "mdv-journeys" }, page.items.map((j) => journeyItem(j, mandates)))
      : h("p", {}, "Aucune démarche déclarée sous vos mandats."));
  } catch (e) {
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
