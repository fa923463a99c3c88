"use strict";
/**
 * Test words in the shape `python -m forecourt macros export` puts in place of
 * __FORECOURT_WORDS__ (all folded): a few English, German and Polish words of each kind.
 */

const HEADERS = {
  status: ["status", "stage", "lead status", "stand", "etap", "stan"],
  first_response_at: ["first response", "first response at", "erste antwort", "erstkontakt",
    "pierwsza odpowiedz", "pierwszy kontakt"],
  last_contact_at: ["last contact", "letzter kontakt", "ostatni kontakt"],
  status_since: ["status since", "status seit", "status od"],
};

const STATUSES = {
  "New": ["new", "neu", "nowy"],
  "Attempting contact": ["attempting contact", "no answer", "kontaktversuch", "proba kontaktu"],
  "Contacted": ["contacted", "spoke to", "kontaktiert", "skontaktowano"],
  "Appointment set": ["appointment set", "termin vereinbart", "umowione spotkanie"],
  "Appointment confirmed": ["appointment confirmed", "termin bestatigt", "spotkanie potwierdzone"],
  "Shown": ["shown", "erschienen", "byl na spotkaniu"],
  "No show": ["no show", "nicht erschienen", "nie przyszedl"],
  "Offer sent": ["offer sent", "angebot gesendet", "oferta wyslana"],
  "Deposit taken": ["deposit taken", "anzahlung erhalten", "zaliczka przyjeta"],
  "Won": ["won", "sold", "verkauft", "sprzedane"],
  "Lost": ["lost", "verloren", "utracony"],
};

const WORDS = {
  headers: HEADERS,
  statuses: Object.fromEntries(
    Object.entries(STATUSES).flatMap(([status, words]) => words.map((word) => [word, status]))),
};

module.exports = { WORDS };
