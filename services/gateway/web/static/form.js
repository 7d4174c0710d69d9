// A declaration's form built from its fields (forms.js), read back into the
// body the gateway's contract expects, and the API's errors shown field by
// field. Input ids are "f-" and the field's path with "-" for "." and
// "[n]" ("address.lines[0]" is f-address-lines-0), so an error's field
// names its input.

import { readRecipients, recipientsFieldset } from "./consent.js";
import { h } from "./dom.js";
import { SEXES } from "./forms.js";

export const fid = (path) => "f-" + path.replace(/\[(\d+)\]/g, "-$1").replace(/\./g, "-");

function messages(id) {
  return h("div", { class: "fr-messages-group", id: `${id}-messages`, "aria-live": "polite" });
}

export function input(path, label, { type = "text", hint, autocomplete, value, inputmode, min, max, optional } = {}) {
  const id = fid(path);
  return h("div", { class: "fr-input-group", id: `${id}-group` },
    h("label", { class: "fr-label", for: id }, label, optional ? " (facultatif)" : null,
      hint ? h("span", { class: "fr-hint-text" }, hint) : null),
    h("input", { class: "fr-input", id, name: path, type, autocomplete, inputmode, min, max,
      value: value ?? null, "aria-describedby": `${id}-messages` }),
    messages(id));
}

export function select(path, label, options, { value, placeholder = "Sélectionner une option", optional } = {}) {
  const id = fid(path);
  return h("div", { class: "fr-select-group", id: `${id}-group` },
    h("label", { class: "fr-label", for: id }, label, optional ? " (facultatif)" : null),
    h("select", { class: "fr-select", id, name: path, "aria-describedby": `${id}-messages` },
      h("option", { value: "", selected: !value }, placeholder),
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))),
    messages(id));
}

export function radios(path, label, options) {
  const id = fid(path);
  return h("fieldset", { class: "fr-fieldset", id: `${id}-group`, "aria-labelledby": `${id}-legend ${id}-messages` },
    h("legend", { class: "fr-fieldset__legend fr-fieldset__legend--regular", id: `${id}-legend` }, label),
    options.map(([v, text], i) => h("div", { class: "fr-fieldset__element" },
      h("div", { class: "fr-radio-group" },
        h("input", { type: "radio", id: i === 0 ? id : `${id}-${v}`, name: path, value: v }),
        h("label", { class: "fr-label", for: i === 0 ? id : `${id}-${v}` }, text)))),
    messages(id));
}

export function checkbox(path, label) {
  const id = fid(path);
  return h("div", { class: "fr-checkbox-group", id: `${id}-group` },
    h("input", { type: "checkbox", id, name: path, "aria-describedby": `${id}-messages` }),
    h("label", { class: "fr-label", for: id }, label),
    messages(id));
}

export function fieldset(legend, ...children) {
  return h("fieldset", { class: "fr-fieldset" },
    h("legend", { class: "fr-fieldset__legend" }, legend),
    children.filter(Boolean).map((c) => h("div", { class: "fr-fieldset__element" }, c)));
}

const NAME_HINT = "En lettres, comme à l'état civil";
const COG_HINT = "Code INSEE de la commune (par exemple 75056 pour Paris), ou 99 et 3 chiffres pour un pays étranger";

function person(path, legend, known = {}, optional = false) {
  return fieldset(legend,
    input(`${path}.family_name`, "Nom de naissance", { autocomplete: optional ? "off" : "family-name", hint: NAME_HINT, value: known.family_name, optional }),
    input(`${path}.given_names`, "Prénoms", { hint: "Dans l'ordre de l'état civil, séparés par des espaces", value: known.given_names?.join(" "), optional }),
    radios(`${path}.sex`, "Sexe", SEXES),
    input(`${path}.birth_date`, "Date de naissance", { type: "date", value: known.birth_date, optional }),
    input(`${path}.birth_place`, "Lieu de naissance", { hint: COG_HINT, value: known.birth_place, optional }));
}

// known: an address the register already holds (GET /v1/me's known),
// given as the fields' values, which the usager may change.
function addressFr(path, legend, known = {}) {
  const lines = known.lines || [];
  return fieldset(legend,
    known.lines ? h("p", { class: "fr-text--sm fr-mb-0", id: `${fid(path)}-known` },
      "Adresse principale enregistrée par l'ANTS : vérifiez-la et modifiez-la si elle a changé.") : null,
    input(`${path}.lines[0]`, "Numéro et voie", { autocomplete: "address-line1", value: lines[0] }),
    input(`${path}.lines[1]`, "Complément d'adresse", { autocomplete: "address-line2", value: lines[1], optional: true }),
    input(`${path}.postal_code`, "Code postal", { autocomplete: "postal-code", inputmode: "numeric", value: known.postal_code }),
    input(`${path}.commune_code`, "Code INSEE de la commune", { hint: "5 caractères, par exemple 75111 pour Paris 11e", value: known.commune_code }),
    input(`${path}.city`, "Ville", { autocomplete: "address-level2", value: known.city, optional: true }));
}

function addressAbroad(path, legend) {
  return fieldset(legend,
    input(`${path}.lines[0]`, "Numéro et voie", { autocomplete: "address-line1" }),
    input(`${path}.lines[1]`, "Complément d'adresse", { autocomplete: "address-line2", optional: true }),
    input(`${path}.city`, "Ville", { autocomplete: "address-level2" }),
    input(`${path}.postal_code`, "Code postal", { autocomplete: "postal-code", optional: true }),
    input(`${path}.country_code`, "Code INSEE du pays", { hint: "99 et 3 chiffres, par exemple 99401 pour le Canada" }));
}

const ITEM_ROWS = 3;

function workItems(path, legend, rules) {
  const items = (rules?.items || []).map((it) => [it.code, it.label.charAt(0).toUpperCase() + it.label.slice(1)]);
  const rows = [];
  for (let i = 0; i < ITEM_ROWS; i++)
    rows.push(fieldset(`Travaux ${i + 1}${i ? " (facultatif)" : ""}`,
      select(`${path}[${i}].code`, "Nature des travaux", items, { optional: i > 0 }),
      input(`${path}[${i}].surface_m2`, "Surface en m² (isolation)", { inputmode: "numeric", optional: true }),
      input(`${path}[${i}].cost_eur`, "Montant du devis TTC (en euros)", { inputmode: "numeric", optional: i > 0 })));
  return h("div", {}, h("h2", { class: "fr-h4" }, legend), rows);
}

// The form's fields; context: {self, known, renovation, bourse}.
export function renderFields(def, context) {
  const out = [];
  for (const f of def.fields) {
    switch (f.type) {
    case "self":
      if (!context.self.complete) out.push(person(f.name, "Votre identité", context.self.identity));
      break;
    case "person": out.push(person(f.name, f.legend)); break;
    case "parents":
      out.push(h("div", {}, h("h2", { class: "fr-h4" }, f.legend),
        person(`${f.name}[0]`, "Premier parent", {}, true), person(`${f.name}[1]`, "Second parent", {}, true)));
      break;
    case "address_fr": out.push(addressFr(f.name, f.legend, f.prefill ? context.known?.[f.prefill] || {} : {})); break;
    case "address_abroad": out.push(addressAbroad(f.name, f.legend)); break;
    case "work_items": out.push(workItems(f.name, f.legend, context.renovation)); break;
    case "date": out.push(input(f.name, f.label, { type: "date" })); break;
    case "cog": out.push(input(f.name, f.label, { hint: f.hint })); break;
    case "name": out.push(input(f.name, f.label, { autocomplete: f.autocomplete, hint: NAME_HINT })); break;
    case "text": out.push(input(f.name, f.label)); break;
    case "integer": out.push(input(f.name, f.label, { inputmode: "numeric" })); break;
    case "select": out.push(select(f.name, f.label, f.options)); break;
    case "radio": out.push(radios(f.name, f.label, f.options)); break;
    case "bool": out.push(radios(f.name, f.label, [["true", "Oui"], ["false", "Non"]])); break;
    case "checkbox": out.push(checkbox(f.name, f.label)); break;
    case "recipients": out.push(recipientsFieldset(def.kind, f.legend)); break;
    case "academic_year":
      out.push(select(f.name, f.label, (context.bourse?.academic_years || []).map((y) => [y.academic_year, y.academic_year])));
      break;
    default: throw new Error(`unknown field type ${f.type}`);
    }
  }
  return out;
}

// ---- reading the form back ----

function value(form, path) {
  const els = form.querySelectorAll(`[name="${CSS.escape(path)}"]`);
  if (!els.length) return undefined;
  if (els[0].type === "radio") return Array.from(els).find((e) => e.checked)?.value;
  if (els[0].type === "checkbox") return els[0].checked;
  const v = els[0].value.trim();
  return v === "" ? undefined : v;
}

// A whole number as typed, or the text itself when it is none: the
// gateway names the field and says why.
function number(v) {
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : v;
}

function readPerson(form, path) {
  const given = value(form, `${path}.given_names`);
  const p = {
    family_name: value(form, `${path}.family_name`),
    given_names: given === undefined ? undefined : given.split(/\s+/),
    sex: value(form, `${path}.sex`),
    birth_date: value(form, `${path}.birth_date`),
    birth_place: value(form, `${path}.birth_place`),
  };
  return Object.values(p).some((v) => v !== undefined) ? p : undefined;
}

function readAddress(form, path, keys) {
  const a = { lines: [value(form, `${path}.lines[0]`), value(form, `${path}.lines[1]`)].filter((l) => l !== undefined) };
  for (const k of keys) a[k] = value(form, `${path}.${k}`);
  return a;
}

function readItems(form, path) {
  const items = [];
  for (let i = 0; i < ITEM_ROWS; i++) {
    const it = { code: value(form, `${path}[${i}].code`), surface_m2: number(value(form, `${path}[${i}].surface_m2`)),
      cost_eur: number(value(form, `${path}[${i}].cost_eur`)) };
    if (Object.values(it).some((v) => v !== undefined)) items.push(it);
  }
  return items;
}

// The usager's identity and, for a "self" field with a prefill, the
// address the administrations already know beside it, as the page shows
// it (a usager they do not know sends the identity alone).
function selfWithKnown(identity, f, context) {
  const known = f.prefill && context.known?.[f.prefill];
  return identity && known ? { ...identity, [f.prefill]: known } : identity;
}

// The body to post: undefined values are left out (JSON.stringify drops
// them), so a field left empty is the gateway's « is required ».
export function readBody(form, def, context) {
  const body = { kind: def.kind };
  for (const f of def.fields) {
    switch (f.type) {
    case "self":
      body[f.name] = selfWithKnown(context.self.complete ? context.self.identity : readPerson(form, f.name), f, context);
      break;
    case "person": body[f.name] = readPerson(form, f.name) || {}; break;
    case "parents": body[f.name] = [0, 1].map((i) => readPerson(form, `${f.name}[${i}]`)).filter(Boolean); break;
    case "address_fr": body[f.name] = readAddress(form, f.name, ["postal_code", "commune_code", "city"]); break;
    case "address_abroad": body[f.name] = readAddress(form, f.name, ["city", "postal_code", "country_code"]); break;
    case "work_items": body[f.name] = readItems(form, f.name); break;
    case "recipients": body[f.name] = readRecipients(form); break;
    case "integer": body[f.name] = number(value(form, f.name)); break;
    case "bool": { const v = value(form, f.name); body[f.name] = v === undefined ? undefined : v === "true"; break; }
    default: body[f.name] = value(form, f.name);
    }
  }
  return body;
}

// ---- errors ----

const FRENCH = [
  [/^is required$/, "Ce champ est obligatoire."],
  [/^must not be (blank|empty)$/, "Ce champ est obligatoire."],
  [/^is not a real calendar date$/, "Cette date n'existe pas."],
  [/^must be a date written YYYY-MM-DD$/, "Indiquez une date complète."],
  [/^must not be before 1850$/, "La date doit être postérieure à 1850."],
  [/^must be written in Latin letters, as in the état civil$/, "Écrivez le nom en lettres, comme à l'état civil."],
  [/^may contain only letters, spaces, hyphens and apostrophes$/, "Écrivez le nom en lettres, comme à l'état civil."],
  [/^must end with a letter$/, "Le nom doit finir par une lettre."],
  [/^must be at most 100 characters$|^is too long$/, "Ce texte est trop long (100 caractères au plus)."],
  [/^must be M or F$/, "Choisissez Femme ou Homme."],
  [/^must be 5 digits/, "Indiquez 5 chiffres (2A ou 2B puis 3 chiffres en Corse)."],
  [/^must be a 5-character INSEE code$/, "Indiquez un code INSEE de 5 caractères."],
  [/^is not a commune of the INSEE COG$/, "Ce code ne correspond à aucune commune."],
  [/^is a former commune/, "Cette commune a fusionné : indiquez le code de la commune nouvelle."],
  [/^is not a postcode of the commune/, "Ce code postal n'est pas celui de la commune."],
  [/^must be an INSEE COG country code/, "Indiquez 99 puis 3 chiffres."],
  [/^is not a country or territory of the INSEE COG$/, "Ce code ne correspond à aucun pays."],
  [/^is a country that no longer exists$/, "Ce pays n'existe plus."],
  [/^must be a country abroad, not France$/, "Indiquez un pays étranger."],
  [/^must be a whole number/, "Indiquez un nombre entier dans les limites permises."],
  [/^must be a year from 1000 to 9999$/, "Indiquez une année sur 4 chiffres."],
  [/^must be true or false$/, "Répondez par oui ou par non."],
  [/^must be one of /, "Choisissez une des réponses proposées."],
  [/^is not a work item of the barème$/, "Ces travaux ne sont pas au barème."],
  [/^is listed twice/, "Ces travaux figurent deux fois."],
  [/^must not be given for an item priced per unit$/, "Pas de surface pour ces travaux, financés à l'unité."],
  [/^is not an academic year of the barème$/, "Cette année universitaire n'est pas au barème."],
  [/^must differ from the current family name$/, "Le nouveau nom doit différer du nom actuel."],
  // An agent's mandate (POST /v1/mandates): the usager's identity as FranceConnect writes it.
  [/^must be female or male$/, "Choisissez Femme ou Homme."],
  [/^must be a COG country code/, "Indiquez 99 puis 3 chiffres (99100 pour la France)."],
  [/^must be empty for a person born abroad$/, "Laissez ce champ vide pour une personne née à l'étranger."],
  [/^is required for a person born in France$/, "Indiquez la commune de naissance."],
  [/^is not a commune of the COG$/, "Ce code ne correspond à aucune commune."],
  [/^cannot be matched/, "Écrivez les noms en lettres latines, comme à l'état civil."],
  [/^must be a list of 1 to 10 work items$/, "Indiquez au moins une ligne de travaux."],
];

// The API's message for the engineer, in French for the usager.
export function frenchMessage(message) {
  for (const [re, text] of FRENCH) if (re.test(message)) return text;
  if (/^(must not|is|should)/.test(message) && /(in the future|before|after)/.test(message))
    return "Cette date n'est pas possible pour cette déclaration.";
  return "Valeur refusée.";
}

// The input an error's field names, or the closest one (a list's first line,
// the list itself), or null when the form has none (the usager's identity).
function inputFor(form, field) {
  let path = field;
  while (path) {
    const el = form.querySelector(`#${CSS.escape(fid(path))}`);
    if (el) return el;
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    path = cut > 0 ? path.slice(0, cut) : "";
  }
  return null;
}

export function clearErrors(form) {
  for (const g of form.querySelectorAll(".fr-input-group--error, .fr-select-group--error, .fr-fieldset--error, .fr-checkbox-group--error"))
    g.classList.remove("fr-input-group--error", "fr-select-group--error", "fr-fieldset--error", "fr-checkbox-group--error");
  for (const i of form.querySelectorAll(".fr-input--error, .fr-select--error"))
    i.classList.remove("fr-input--error", "fr-select--error");
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  for (const m of form.querySelectorAll(".fr-messages-group")) m.replaceChildren();
}

// Marks each field the API named; returns [{field, text, id}] for the summary.
export function showErrors(form, errors) {
  const shown = [];
  for (const e of errors) {
    const text = frenchMessage(e.message);
    const el = inputFor(form, e.field);
    if (el) {
      const group = document.getElementById(`${el.id}-group`) || el.closest(".fr-input-group, .fr-select-group, .fr-fieldset, .fr-checkbox-group");
      if (group) {
        const kind = group.classList.contains("fr-fieldset") ? "fr-fieldset" : group.classList.contains("fr-select-group") ? "fr-select-group"
          : group.classList.contains("fr-checkbox-group") ? "fr-checkbox-group" : "fr-input-group";
        group.classList.add(`${kind}--error`);
      }
      if (el.classList.contains("fr-input")) el.classList.add("fr-input--error");
      if (el.classList.contains("fr-select")) el.classList.add("fr-select--error");
      el.setAttribute("aria-invalid", "true");
      const box = document.getElementById(`${el.id}-messages`);
      if (box) box.append(h("p", { class: "fr-message fr-message--error", id: `${el.id}-error-${shown.length}` }, text));
    }
    shown.push({ field: e.field, text, id: el ? el.id : null });
  }
  return shown;
}
