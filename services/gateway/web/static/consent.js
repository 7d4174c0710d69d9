// The optional recipients of a declaration, offered for the usager's
// consent (DESIGN.md §11): beside the administrations the law entitles,
// which are told anyway, a kind may name partners the usager chooses to
// tell too. Each is a DSFR checkbox saying which administration and what it
// would receive, none checked: nothing is sent to a partner the usager did
// not tick. The choice goes in the body's `recipients`.
//
// RECIPIENTS holds, per kind, the lines of the gateway's
// rules/recipients.tsv, and each partner's fields are those its
// entitlement sends (services/partners/rules/entitlements.tsv, without
// the journey's id): tests/static/test_page_consent.py holds all three
// together.

import { h } from "./dom.js";

export const RECIPIENTS = {
  address_change: [
    { partner: "cnav", administration: "L'Assurance retraite (CNAV)", why: "pour vos pensions de retraite et de réversion", fields: ["family_name", "given_names", "sex", "birth_date", "birth_place", "address_lines", "postal_code", "city", "effective_date"] },
    { partner: "dgfip", administration: "Les Finances publiques (DGFiP)", why: "pour vos impôts", fields: ["family_name", "given_names", "birth_date", "birth_place", "address_lines", "postal_code", "city", "effective_date"] },
    { partner: "caf", administration: "La Caisse d'allocations familiales (CAF)", why: "pour vos aides au logement et vos prestations familiales", fields: ["family_name", "given_names", "birth_date", "birth_place", "address_lines", "postal_code", "city", "effective_date"] },
  ],
};

// What each field of a partner's notice is, for the usager.
export const FIELD_LABELS = {
  family_name: "nom de naissance",
  given_names: "prénoms",
  sex: "sexe",
  birth_date: "date de naissance",
  birth_place: "lieu de naissance",
  address_lines: "adresse",
  postal_code: "code postal",
  city: "ville",
  effective_date: "date d'emménagement",
};

const ID = "f-recipients";

function receives(fields) {
  const labels = fields.map((f) => FIELD_LABELS[f]);
  const last = labels.pop();
  return `Recevra : ${labels.length ? `${labels.join(", ")} et ${last}` : last}.`;
}

function choice(r) {
  const id = `${ID}-${r.partner}`;
  return h("div", { class: "fr-fieldset__element" },
    h("div", { class: "fr-checkbox-group" },
      h("input", { type: "checkbox", id, name: "recipients", value: r.partner, "aria-describedby": `${id}-messages` }),
      h("label", { class: "fr-label", for: id }, `${r.administration}, ${r.why}`,
        h("span", { class: "fr-hint-text" }, receives(r.fields))),
      h("div", { class: "fr-messages-group", id: `${id}-messages`, "aria-live": "polite" })));
}

// The fieldset of a kind's optional recipients, or null when it has none.
// An error naming recipients[i] marks the fieldset (its id is the list's).
export function recipientsFieldset(kind, legend) {
  const offered = RECIPIENTS[kind] || [];
  if (!offered.length) return null;
  return h("fieldset", { class: "fr-fieldset", id: ID, "aria-labelledby": `${ID}-legend ${ID}-messages` },
    h("legend", { class: "fr-fieldset__legend", id: `${ID}-legend` }, legend,
      h("span", { class: "fr-hint-text" }, "Facultatif. Les administrations qui vous connaissent déjà sont prévenues sans rien cocher ; celles-ci ne le sont que si vous le choisissez.")),
    offered.map(choice),
    h("div", { class: "fr-messages-group", id: `${ID}-messages`, "aria-live": "polite" }));
}

// The partners ticked, in the order offered ([] when none: no consent).
export function readRecipients(form) {
  return Array.from(form.querySelectorAll('input[name="recipients"]')).filter((c) => c.checked).map((c) => c.value);
}
