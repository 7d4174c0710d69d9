// What each kind of declaration asks (DESIGN.md §3), field by field as the
// gateway's contract (services/gateway/openapi.yaml) names them, with the
// French the usager reads. A field of type "self" is the usager's own pivot
// identity: it comes from the identity provider (GET /v1/me) and is not
// asked again; with a prefill, the address the administrations already
// know (GET /v1/me's known) goes with it as its address, shown, not asked. tests/static/test_page_forms.py holds these lists against
// the contract's schemas.

export const RELATIONSHIPS = [
  ["spouse", "Conjoint ou conjointe"],
  ["child", "Enfant"],
  ["parent", "Parent"],
  ["sibling", "Frère ou sœur"],
  ["other", "Autre lien"],
];

export const SEXES = [
  ["F", "Femme"],
  ["M", "Homme"],
];

export const KINDS = [
  {
    kind: "bereavement",
    moment: "Je perds un proche",
    title: "Déclarer un décès",
    summary: "État civil, ANTS, consulat, CROUS, Anah et caisses de retraite sont prévenus.",
    fields: [
      { name: "deceased", type: "person", legend: "La personne décédée" },
      { name: "death_date", type: "date", label: "Date du décès" },
      { name: "death_place", type: "cog", label: "Lieu du décès", hint: "Code INSEE de la commune (5 caractères, par exemple 75056 pour Paris) ou 99xxx pour un pays étranger" },
      { name: "declarant_relationship", type: "select", label: "Votre lien avec la personne décédée", options: RELATIONSHIPS },
      { name: "declarant", type: "self", prefill: "address", hint: "Si vous êtes le conjoint survivant, la demande de pension de réversion vous sera adressée à cette adresse ; si elle a changé, déclarez votre changement d'adresse : la demande suivra." },
    ],
  },
  {
    kind: "address_change",
    moment: "J'établis mon identité",
    title: "Déclarer un changement d'adresse",
    summary: "Votre nouvelle adresse en France, transmise à chaque administration qui vous connaît.",
    fields: [
      { name: "person", type: "self" },
      { name: "address", type: "address_fr", legend: "Votre nouvelle adresse" },
      { name: "effective_date", type: "date", label: "Date d'emménagement" },
      { name: "recipients", type: "recipients", legend: "Prévenir aussi, si vous le souhaitez" },
    ],
  },
  {
    kind: "name_change",
    moment: "J'établis mon identité",
    title: "Déclarer un changement de nom",
    summary: "Un nouveau nom d'usage, ou un nom de naissance changé en mairie.",
    fields: [
      { name: "person", type: "self" },
      { name: "name_type", type: "radio", label: "Quel nom change ?", options: [["usage", "Mon nom d'usage"], ["birth", "Mon nom de naissance (changé en mairie)"]] },
      { name: "new_family_name", type: "name", label: "Nouveau nom", autocomplete: "family-name" },
      { name: "effective_date", type: "date", label: "Date du changement" },
    ],
  },
  {
    kind: "identity_document",
    moment: "J'établis mon identité",
    title: "Faire une pré-demande de carte d'identité ou de passeport",
    summary: "État civil et adresse repris des registres : rien à ressaisir.",
    fields: [
      { name: "person", type: "self" },
      { name: "document_type", type: "radio", label: "Titre demandé", options: [["cni", "Carte nationale d'identité"], ["passport", "Passeport"]] },
      { name: "reason", type: "select", label: "Motif de la demande", options: [["first", "Première demande"], ["renewal", "Renouvellement"], ["loss", "Perte"], ["theft", "Vol"]] },
    ],
  },
  {
    kind: "departure_abroad",
    moment: "Je pars, je vis, je reviens de l'étranger",
    title: "Déclarer un départ à l'étranger",
    summary: "Votre adresse à l'étranger et, si vous le souhaitez, l'inscription au registre des Français établis hors de France.",
    fields: [
      { name: "person", type: "self" },
      { name: "address", type: "address_abroad", legend: "Votre adresse à l'étranger" },
      { name: "departure_date", type: "date", label: "Date de départ" },
      { name: "consular_registration", type: "bool", label: "Souhaitez-vous vous inscrire au registre des Français établis hors de France ?" },
      { name: "study_mobility", type: "checkbox", label: "Il s'agit d'une mobilité d'études dans un cursus français" },
    ],
  },
  {
    kind: "return_to_france",
    moment: "Je pars, je vis, je reviens de l'étranger",
    title: "Déclarer un retour en France",
    summary: "Votre date de retour et votre adresse en France : l'inscription consulaire est clôturée.",
    fields: [
      { name: "person", type: "self" },
      { name: "address", type: "address_fr", legend: "Votre adresse en France" },
      { name: "return_date", type: "date", label: "Date de retour" },
    ],
  },
  {
    kind: "renovation_grant",
    moment: "Je rénove mon logement",
    title: "Demander MaPrimeRénov'",
    summary: "Le logement, le foyer fiscal et les travaux avec leur devis.",
    fields: [
      { name: "person", type: "self" },
      { name: "dwelling", type: "address_fr", legend: "Le logement à rénover", prefill: "address" },
      { name: "construction_year", type: "integer", label: "Année de construction du logement", min: 1000, max: 9999 },
      { name: "main_residence", type: "bool", label: "Est-ce votre résidence principale ?" },
      { name: "owner_occupier", type: "bool", label: "En êtes-vous propriétaire occupant ?" },
      { name: "household_size", type: "integer", label: "Nombre de personnes du foyer fiscal", min: 1, max: 20 },
      { name: "reference_tax_income_eur", type: "integer", label: "Revenu fiscal de référence (en euros)", min: 0, max: 10000000 },
      { name: "items", type: "work_items", legend: "Les travaux" },
    ],
  },
  {
    kind: "student_grant",
    moment: "Je deviens étudiant",
    title: "Déposer mon dossier social étudiant",
    summary: "Bourse sur critères sociaux et logement étudiant du CROUS.",
    fields: [
      { name: "person", type: "self" },
      { name: "academic_year", type: "academic_year", label: "Année universitaire" },
      { name: "institution", type: "text", label: "Établissement d'enseignement supérieur" },
      { name: "study_commune_code", type: "cog", label: "Commune des études", hint: "Code INSEE de la commune (5 caractères, par exemple 69266 pour Villeurbanne)" },
      { name: "parents_income_eur", type: "integer", label: "Revenu brut global de vos parents (en euros, année N-2)", min: 0, max: 10000000 },
      { name: "children_at_charge", type: "integer", label: "Autres enfants à la charge de vos parents", min: 0, max: 20 },
      { name: "children_in_higher_education", type: "integer", label: "Dont enfants dans l'enseignement supérieur", min: 0, max: 20 },
      { name: "family_home_distance_km", type: "integer", label: "Distance entre le domicile familial et le lieu d'études (en km)", min: 0, max: 20000 },
      { name: "disability", type: "checkbox", label: "Vous êtes en situation de handicap" },
      { name: "carer", type: "checkbox", label: "Vous êtes aidant familial" },
      { name: "housing_wanted", type: "bool", label: "Demandez-vous un logement du CROUS ?" },
      { name: "parents", type: "parents", legend: "Vos parents (facultatif)" },
    ],
  },
];

export function kindOf(kind) {
  return KINDS.find((k) => k.kind === kind);
}
