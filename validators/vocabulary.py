"""The words dealers use, in English, German and Polish, mapped to forecourt's fields and values.

The first synonym of each language is the header forecourt itself writes (starter workbook,
demo, added columns); the rest are what dealers are known to type. Matching is case- and
accent-insensitive (see :func:`forecourt.validators.text.fold`), so list each word once.
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "pl")

# Tab kind -> names per language (first is the one forecourt writes).
TAB_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {
        "en": ("Leads", "Inquiries", "Enquiries", "Prospects"),
        "de": ("Anfragen", "Leads", "Interessenten", "Kundenanfragen"),
        "pl": ("Zapytania", "Leady", "Klienci", "Zgłoszenia"),
    },
    "stock": {
        "en": ("Stock", "Inventory", "Cars", "Vehicles"),
        "de": ("Bestand", "Fahrzeuge", "Lager", "Fahrzeugbestand"),
        "pl": ("Magazyn", "Samochody", "Stan", "Pojazdy"),
    },
    "team": {
        "en": ("Team", "Staff", "Salespeople", "People"),
        "de": ("Verkäufer", "Team", "Mitarbeiter"),
        "pl": ("Zespół", "Handlowcy", "Pracownicy"),
    },
    "settings": {
        "en": ("Settings", "Config", "Configuration"),
        "de": ("Einstellungen", "Konfiguration"),
        "pl": ("Ustawienia", "Konfiguracja"),
    },
}

LEAD_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "lead_id": {
        "en": ("Lead ID", "ID", "Lead no", "Lead number", "Ref"),
        "de": ("Anfrage-ID", "Anfrage Nr", "Anfragenummer", "Lead-ID"),
        "pl": ("ID zapytania", "Nr zapytania", "Numer zapytania", "ID leada"),
    },
    "received_at": {
        "en": ("Received", "Received at", "Date", "Date received", "Created", "Timestamp"),
        "de": ("Eingang", "Datum", "Eingangsdatum", "Eingegangen", "Erstellt"),
        "pl": ("Data zgłoszenia", "Data", "Otrzymano", "Data wpływu", "Utworzono"),
    },
    "name": {
        "en": ("Name", "Customer", "Customer name", "Buyer", "Full name", "Contact"),
        "de": ("Name", "Kunde", "Kundenname", "Interessent", "Vorname Nachname"),
        "pl": ("Imię i nazwisko", "Klient", "Nazwisko", "Imię", "Kupujący"),
    },
    "phone": {
        "en": ("Phone", "Telephone", "Mobile", "Phone number", "Tel", "Cell"),
        "de": ("Telefon", "Handy", "Mobil", "Telefonnummer", "Tel.", "Rufnummer"),
        "pl": ("Telefon", "Nr telefonu", "Numer telefonu", "Komórka", "Tel."),
    },
    "email": {
        "en": ("Email", "E-mail", "Email address", "Mail"),
        "de": ("E-Mail", "Mail", "E-Mail-Adresse"),
        "pl": ("E-mail", "Adres e-mail", "Mail"),
    },
    "preferred_contact": {
        "en": ("Preferred contact", "Contact via", "Contact preference"),
        "de": ("Bevorzugter Kontakt", "Kontaktweg", "Kontakt über"),
        "pl": ("Preferowany kontakt", "Forma kontaktu"),
    },
    "source": {
        "en": ("Source", "Channel", "Lead source", "Came from", "Via"),
        "de": ("Quelle", "Kanal", "Herkunft", "Lead-Quelle"),
        "pl": ("Źródło", "Kanał", "Skąd"),
    },
    "vin": {
        "en": ("VIN", "Chassis", "Chassis no", "Vehicle ID", "Frame no"),
        "de": ("FIN", "Fahrgestellnummer", "Fahrgestell-Nr", "VIN"),
        "pl": ("Numer VIN", "VIN", "Nr nadwozia", "Numer nadwozia"),
    },
    "stock_no": {
        "en": ("Stock no", "Stock number", "Stock #", "Stock ID"),
        "de": ("Bestandsnummer", "Interne Nr", "Fahrzeugnummer", "Bestands-Nr"),
        "pl": ("Nr magazynowy", "Numer magazynowy", "Nr ewidencyjny"),
    },
    "vehicle_wanted": {
        "en": ("Vehicle wanted", "Vehicle", "Car", "Interested in", "Car wanted"),
        "de": ("Fahrzeugwunsch", "Fahrzeug", "Wunschfahrzeug", "Interesse an", "Auto"),
        "pl": ("Poszukiwany pojazd", "Pojazd", "Samochód", "Auto", "Interesuje się"),
    },
    "status": {
        "en": ("Status", "Stage", "Lead status"),
        "de": ("Status", "Stand", "Phase"),
        "pl": ("Status", "Etap"),
    },
    "owner": {
        "en": ("Owner", "Salesperson", "Assigned to", "Sales rep", "Handled by"),
        "de": ("Verkäufer", "Zuständig", "Betreuer", "Bearbeiter"),
        "pl": ("Opiekun", "Handlowiec", "Przypisany", "Odpowiedzialny"),
    },
    "next_action": {
        "en": ("Next action", "Next step", "To do"),
        "de": ("Nächster Schritt", "Nächste Aktion", "To-do", "Wiedervorlage Aktion"),
        "pl": ("Następny krok", "Następna akcja", "Do zrobienia"),
    },
    "due": {
        "en": ("Due", "Due at", "Due date", "Follow-up date", "Deadline"),
        "de": ("Fällig", "Fällig am", "Wiedervorlage", "Termin Wiedervorlage", "Frist"),
        "pl": ("Termin", "Termin wykonania", "Do kiedy", "Termin kontaktu"),
    },
    "first_response_at": {
        "en": ("First response", "First response at", "First reply", "Responded"),
        "de": ("Erste Antwort", "Erstkontakt", "Erste Reaktion", "Beantwortet"),
        "pl": ("Pierwsza odpowiedź", "Pierwszy kontakt", "Odpowiedziano"),
    },
    "last_contact_at": {
        "en": ("Last contact", "Last contact at", "Last contacted", "Last touch"),
        "de": ("Letzter Kontakt", "Zuletzt kontaktiert", "Letzte Aktivität"),
        "pl": ("Ostatni kontakt", "Data ostatniego kontaktu"),
    },
    "appointment_at": {
        "en": ("Appointment", "Appointment at", "Test drive", "Visit"),
        "de": ("Termin", "Probefahrt", "Besichtigung", "Termin am"),
        "pl": ("Spotkanie", "Jazda próbna", "Wizyta", "Umówione spotkanie"),
    },
    "trade_in": {
        "en": ("Trade-in", "Part exchange", "Px", "Trade in"),
        "de": ("Inzahlungnahme", "Inzahlung", "Altfahrzeug"),
        "pl": ("Samochód w rozliczeniu", "Odkup", "Zamiana", "W rozliczeniu"),
    },
    "trade_in_vehicle": {
        "en": ("Trade-in VIN", "Trade-in plate", "Trade-in vehicle", "Px reg"),
        "de": ("Inzahlung FIN", "Inzahlung Kennzeichen", "Altfahrzeug Kennzeichen"),
        "pl": ("VIN w rozliczeniu", "Rejestracja w rozliczeniu", "Auto w rozliczeniu"),
    },
    "valuation": {
        "en": ("Valuation", "Trade-in valuation", "Appraisal"),
        "de": ("Bewertung", "Ankaufspreis", "Schätzung"),
        "pl": ("Wycena", "Wycena odkupu"),
    },
    "finance": {
        "en": ("Finance", "Financing", "Needs finance", "Loan"),
        "de": ("Finanzierung", "Kredit", "Leasing"),
        "pl": ("Finansowanie", "Kredyt", "Leasing"),
    },
    "budget": {
        "en": ("Budget", "Max price", "Price range"),
        "de": ("Budget", "Preisvorstellung", "Max. Preis"),
        "pl": ("Budżet", "Kwota", "Maks. cena"),
    },
    "store": {
        "en": ("Store", "Branch", "Location", "Site", "Lot"),
        "de": ("Filiale", "Standort", "Niederlassung", "Platz"),
        "pl": ("Oddział", "Lokalizacja", "Salon", "Plac"),
    },
    "status_since": {
        "en": ("Status since", "In status since"),
        "de": ("Status seit", "Im Status seit"),
        "pl": ("Status od", "W statusie od"),
    },
    "state": {
        "en": ("State", "Alert", "Flag"),
        "de": ("Lage", "Warnung", "Markierung"),
        "pl": ("Alert", "Flaga", "Sygnał"),
    },
    "notes": {
        "en": ("Notes", "Comments", "Message", "Remarks"),
        "de": ("Notizen", "Bemerkung", "Bemerkungen", "Nachricht", "Kommentar"),
        "pl": ("Notatki", "Uwagi", "Wiadomość", "Komentarz"),
    },
}

STOCK_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "vin": LEAD_FIELDS["vin"],
    "stock_no": LEAD_FIELDS["stock_no"],
    "make": {
        "en": ("Make", "Brand", "Manufacturer"),
        "de": ("Marke", "Hersteller", "Fabrikat"),
        "pl": ("Marka", "Producent"),
    },
    "model": {
        "en": ("Model", "Model name"),
        "de": ("Modell", "Typ"),
        "pl": ("Model",),
    },
    "year": {
        "en": ("Year", "Model year", "First registered", "Reg year"),
        "de": ("Baujahr", "Erstzulassung", "EZ", "Modelljahr"),
        "pl": ("Rok produkcji", "Rocznik", "Rok"),
    },
    "body": {
        "en": ("Body", "Body type", "Body style"),
        "de": ("Karosserie", "Aufbau", "Karosserieform"),
        "pl": ("Nadwozie", "Typ nadwozia"),
    },
    "price": {
        "en": ("Price", "Asking price", "Retail price"),
        "de": ("Preis", "Verkaufspreis", "VK-Preis", "VK"),
        "pl": ("Cena", "Cena sprzedaży"),
    },
    "mileage": {
        "en": ("Mileage", "Odometer", "Km", "Miles"),
        "de": ("Kilometerstand", "Laufleistung", "km-Stand"),
        "pl": ("Przebieg", "Km"),
    },
    "status": {
        "en": ("Status", "Stock status", "State", "Availability"),
        "de": ("Status", "Zustand", "Verfügbarkeit"),
        "pl": ("Status", "Dostępność"),
    },
    "eta": {
        "en": ("ETA", "Arrival", "Expected", "Arrives"),
        "de": ("Ankunft", "Erwartet", "Liefertermin", "ETA"),
        "pl": ("Przyjazd", "Data dostawy", "Oczekiwany", "ETA"),
    },
    "store": LEAD_FIELDS["store"],
    "notes": LEAD_FIELDS["notes"],
    "waiting": {
        "en": ("Buyers waiting", "Waiting buyers"),
        "de": ("Wartende Käufer", "Interessenten wartend"),
        "pl": ("Czekający klienci", "Oczekujący klienci"),
    },
}

TEAM_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "name": {
        "en": ("Name", "Person", "Salesperson"),
        "de": ("Name", "Mitarbeiter", "Verkäufer"),
        "pl": ("Imię i nazwisko", "Imię", "Pracownik", "Handlowiec"),
    },
    "active": {
        "en": ("Active", "Available", "Enabled"),
        "de": ("Aktiv", "Verfügbar"),
        "pl": ("Aktywny", "Dostępny"),
    },
    "days": {
        "en": ("Days", "Working days", "Works on"),
        "de": ("Arbeitstage", "Tage"),
        "pl": ("Dni pracy", "Dni"),
    },
    "stores": {
        "en": ("Stores", "Store", "Branches", "Locations"),
        "de": ("Filialen", "Filiale", "Standorte", "Standort"),
        "pl": ("Oddziały", "Oddział", "Salony", "Lokalizacje"),
    },
    "makes": {
        "en": ("Makes", "Brands", "Make"),
        "de": ("Marken", "Marke"),
        "pl": ("Marki", "Marka"),
    },
    "languages": {
        "en": ("Languages", "Language", "Speaks"),
        "de": ("Sprachen", "Sprache"),
        "pl": ("Języki", "Język"),
    },
    "cap": {
        "en": ("Cap", "Max open leads", "Limit"),
        "de": ("Max. offene Anfragen", "Limit", "Obergrenze"),
        "pl": ("Limit", "Maks. otwartych zapytań"),
    },
    "email": LEAD_FIELDS["email"],
    "phone": LEAD_FIELDS["phone"],
}

FIELDS_BY_TAB = {"leads": LEAD_FIELDS, "stock": STOCK_FIELDS, "team": TEAM_FIELDS}

# Lead statuses in pipeline order; "Lost" is reachable from anywhere.
STATUSES: dict[str, dict[str, tuple[str, ...]]] = {
    "New": {
        "en": ("New", "Open", "Fresh"),
        "de": ("Neu", "Offen"),
        "pl": ("Nowy", "Nowe", "Otwarte"),
    },
    "Attempting contact": {
        "en": ("Attempting contact", "Attempting", "Trying", "No answer", "Called no answer"),
        "de": ("Kontaktversuch", "Nicht erreicht", "Versuche Kontakt"),
        "pl": ("Próba kontaktu", "Nie odbiera", "Brak kontaktu"),
    },
    "Contacted": {
        "en": ("Contacted", "In contact", "Reached", "Replied"),
        "de": ("Kontaktiert", "Erreicht", "In Kontakt"),
        "pl": ("Skontaktowano", "W kontakcie", "Kontakt nawiązany"),
    },
    "Appointment set": {
        "en": ("Appointment set", "Appointment", "Booked", "Test drive booked"),
        "de": ("Termin vereinbart", "Termin", "Probefahrt vereinbart"),
        "pl": ("Umówione spotkanie", "Umówiony", "Spotkanie umówione"),
    },
    "Appointment confirmed": {
        "en": ("Appointment confirmed", "Confirmed"),
        "de": ("Termin bestätigt", "Bestätigt"),
        "pl": ("Spotkanie potwierdzone", "Potwierdzone"),
    },
    "Shown": {
        "en": ("Shown", "Visited", "Showed", "Test drive done"),
        "de": ("Erschienen", "Besichtigt", "Probefahrt gemacht", "War da"),
        "pl": ("Był na spotkaniu", "Obejrzał", "Wizyta odbyta", "Przyszedł"),
    },
    "No show": {
        "en": ("No show", "No-show", "Did not show", "Missed appointment"),
        "de": ("Nicht erschienen", "No-Show"),
        "pl": ("Nie przyszedł", "Nieobecny", "Nie stawił się"),
    },
    "Offer sent": {
        "en": ("Offer sent", "Quoted", "Quote sent", "Offer"),
        "de": ("Angebot gesendet", "Angebot", "Angebot verschickt"),
        "pl": ("Oferta wysłana", "Oferta", "Wysłano ofertę"),
    },
    "Deposit taken": {
        "en": ("Deposit taken", "Deposit", "Reserved"),
        "de": ("Anzahlung erhalten", "Anzahlung", "Reserviert"),
        "pl": ("Zaliczka przyjęta", "Zaliczka", "Zadatek"),
    },
    "Won": {
        "en": ("Won", "Sold", "Closed won", "Delivered"),
        "de": ("Verkauft", "Gewonnen", "Abgeschlossen"),
        "pl": ("Sprzedane", "Sprzedany", "Wygrany", "Wydany"),
    },
    "Lost": {
        "en": ("Lost", "Closed lost", "Dead", "Not interested", "Bought elsewhere"),
        "de": ("Verloren", "Kein Interesse", "Abgesagt", "Woanders gekauft"),
        "pl": ("Utracony", "Stracony", "Niezainteresowany", "Rezygnacja"),
    },
}
STATUS_ORDER = tuple(STATUSES)
OPEN_STATUSES = tuple(s for s in STATUS_ORDER if s not in ("Won", "Lost"))

STOCK_STATUSES: dict[str, dict[str, tuple[str, ...]]] = {
    "On lot": {
        "en": ("On lot", "Available", "In stock", "For sale"),
        "de": ("Auf Hof", "Verfügbar", "Vorrätig", "Im Bestand"),
        "pl": ("Na placu", "Dostępny", "W magazynie", "Na sprzedaż"),
    },
    "Reserved": {
        "en": ("Reserved", "On hold"),
        "de": ("Reserviert",),
        "pl": ("Zarezerwowany", "Rezerwacja"),
    },
    "In transit": {
        "en": ("In transit", "Incoming", "On the way", "Arriving"),
        "de": ("Unterwegs", "Im Zulauf", "Zulauf", "In Anlieferung"),
        "pl": ("W drodze", "W transporcie", "Dostawa"),
    },
    "In prep": {
        "en": ("In prep", "Preparation", "Valeting", "In workshop", "Repair"),
        "de": ("Aufbereitung", "In Aufbereitung", "Werkstatt", "In Reparatur"),
        "pl": ("W przygotowaniu", "Przygotowanie", "Warsztat", "Naprawa"),
    },
    "Sold": {
        "en": ("Sold", "Gone", "Delivered"),
        "de": ("Verkauft", "Ausgeliefert"),
        "pl": ("Sprzedany", "Sprzedane", "Wydany"),
    },
}

# Channel class -> free-text source values dealers type.
CHANNELS: dict[str, tuple[str, ...]] = {
    "chat": (
        "WhatsApp", "WA", "SMS", "Text", "Messenger", "Facebook", "Facebook Marketplace", "FB",
        "Instagram", "Web chat", "Chat", "Live chat", "Telegram", "Signal", "Viber",
    ),
    "phone": (
        "Phone", "Call", "Missed call", "Voicemail", "Telephone", "Telefon", "Anruf",
        "Verpasster Anruf", "Mailbox", "Rückruf", "Telefonisch", "Telefon nieodebrany",
        "Nieodebrane", "Poczta głosowa", "Połączenie",
    ),
    "form": (
        "mobile.de", "AutoScout24", "AutoScout", "OTOMOTO", "OLX", "AutoTrader", "Cars.com",
        "CarGurus", "Website", "Web form", "Website form", "Own website", "Portal", "Form",
        "Homepage", "Webseite", "Kontaktformular", "Formular", "Strona", "Strona www",
        "Formularz", "Pkw.de", "heycar", "Kleinanzeigen", "eBay Kleinanzeigen", "Allegro",
    ),
    "email": ("Email", "E-mail", "Mail", "E-Mail", "Poczta"),
    "walk-in": (
        "Walk-in", "Walk in", "Walkin", "Showroom", "Visit", "Laufkundschaft", "Vor Ort",
        "Besuch", "Wizyta", "Osobiście", "Salon",
    ),
    "other": (
        "Referral", "Event", "Other", "Recommendation", "Friend", "Empfehlung", "Messe",
        "Sonstiges", "Andere", "Polecenie", "Targi", "Inne",
    ),
}
CHANNEL_CLASSES = tuple(CHANNELS)

YES = ("yes", "y", "true", "1", "x", "ja", "j", "tak", "t", "✓", "✔")
NO = ("no", "n", "false", "0", "nein", "nie", "-")

WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("Mon", "Monday", "Mo", "Montag", "Pn", "Pon", "Poniedziałek"),
    1: ("Tue", "Tuesday", "Di", "Dienstag", "Wt", "Wtorek"),
    2: ("Wed", "Wednesday", "Mi", "Mittwoch", "Śr", "Sr", "Środa"),
    3: ("Thu", "Thursday", "Do", "Donnerstag", "Cz", "Czw", "Czwartek"),
    4: ("Fri", "Friday", "Fr", "Freitag", "Pt", "Piątek"),
    5: ("Sat", "Saturday", "Sa", "Samstag", "Sob", "Sobota"),
    6: ("Sun", "Sunday", "Su", "So", "Sonntag", "Nd", "Ndz", "Niedziela"),
}
