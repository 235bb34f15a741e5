"""Words the generator draws from: French communes, names, machines, accounts."""

COMMUNES = [
    "Rodez", "Espalion", "Saint-Côme-d'Olt", "Laguiole", "Millau", "Villefranche-de-Rouergue",
    "Decazeville", "Baraqueville", "Naucelle", "Réquista", "Saint-Affrique", "Sévérac-d'Aveyron",
    "Marcillac-Vallon", "Entraygues-sur-Truyère", "Mur-de-Barrez", "Rignac", "Capdenac-Gare",
    "Bozouls", "Pont-de-Salars", "Salles-Curan", "Cassagnes-Bégonhès", "Sauveterre-de-Rouergue",
    "Belmont-sur-Rance", "Camarès", "Nant", "L'Hospitalet-du-Larzac", "Laissac", "Saint-Geniez-d'Olt",
    "Bergerac", "Périgueux", "Sarlat-la-Canéda", "Ribérac", "Nontron", "Thiviers", "Excideuil",
    "Agen", "Marmande", "Villeneuve-sur-Lot", "Nérac", "Tonneins", "Fumel", "Casteljaloux",
    "Duras", "Monflanquin", "Penne-d'Agenais", "Astaffort", "Layrac", "Aiguillon", "Lavardac",
    "Mézin", "Houeillès", "Castillonnès", "Lauzun", "Miramont-de-Guyenne", "Seyches",
]

CUMA_PREFIXES = ["de ", "des Coteaux de ", "du Causse de ", "La Vallée de ", "de l'Entraide de "]

FIRST_NAMES = [
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Bernard", "Christian", "Daniel",
    "Éric", "François", "Gérard", "Hélène", "Isabelle", "Jacqueline", "Karine", "Laurence",
    "Marie", "Nathalie", "Odile", "Pascale", "Sylvie", "Thérèse", "Valérie", "Yves", "Zoé",
    "Benoît", "Céline", "Joël", "Loïc", "Gaëlle", "Noël", "Anaïs", "Cédric", "Maëlle",
]

LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
    "Gauthier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
    "Gaillard", "Brunet", "Vidal", "Bouscarel", "Cayla", "Fabre", "Foissac", "Delmas", "Maury",
    "Costes", "Bousquet", "Alibert", "Vernhes", "Calmels", "Lacombe", "Rouquette", "D'Arjuzon",
]

GAEC_NAMES = [
    "du Moulin", "des Tilleuls", "de la Combe", "du Puech", "des Trois Chênes", "de Lagarde",
    "du Soleil Levant", "de la Borie", "des Granges", "du Ségala", "de l'Aubrac", "du Lévézou",
]

PARTNER_ROLES = ["gérant", "associé", "associée", "associé exploitant", None]

COMPANIES = [
    "Ets Fabre Motoculture", "Agri Pièces Sud-Ouest", "Coopérative Unicor", "Garage Delmas",
    "Pneus Services Rouergue", "Carburants du Ségala", "Groupama d'Oc", "Crédit Agricole",
    "Assurances Mutuelles \\ Agricoles",  # a backslash typed by someone, kept as is
    "Sarl Cayla & Fils", "Claas Réseau Agricole", "Kuhn Center Aveyron",
]

STREETS = [
    "route de Rodez", "chemin des Crêtes", "lieu-dit La Borie", "impasse du Moulin",
    "rue de l'Église", "avenue de la Gare", "hameau de Lagarde", "lieu-dit Le Puech",
]

BRANDS = ["John Deere", "Claas", "Kuhn", "New Holland", "Massey Ferguson", "Fendt", "Lemken", "Amazone", "Pöttinger", "Case IH"]

# (machine, billing unit, low rate, high rate)
MACHINES = [
    ("Tracteur", "h", 25, 60),
    ("Moissonneuse-batteuse", "ha", 80, 160),
    ("Presse à balles rondes", "balle", 4, 9),
    ("Enrubanneuse", "balle", 3, 7),
    ("Épandeur à fumier", "t", 2, 5),
    ("Tonne à lisier", "m3", 1, 3),
    ("Faucheuse conditionneuse", "ha", 15, 35),
    ("Semoir de précision", "ha", 20, 45),
    ("Pulvérisateur", "ha", 8, 18),
    ("Benne agricole", "km", 1, 3),
    ("Broyeur d'accotement", "h", 30, 70),
    ("Charrue réversible", "ha", 25, 50),
    ("Déchaumeur à disques", "ha", 15, 30),
    ("Ensileuse automotrice", "ha", 120, 220),
    ("Télescopique", "h", 20, 45),
    ("Bétaillère", "jour", 15, 40),
]

UNITS = [
    ("h", "heure"),
    ("ha", "hectare"),
    ("balle", "balle"),
    ("t", "tonne"),
    ("m3", "mètre cube"),
    ("km", "kilomètre"),
    ("jour", "jour"),
]

ACCOUNTS = [
    ("101300", "Capital souscrit appelé versé"),
    ("164000", "Emprunts auprès des établissements de crédit"),
    ("215400", "Matériel industriel"),
    ("281540", "Amortissements du matériel"),
    ("401000", "Fournisseurs"),
    ("411000", "Adhérents et clients"),
    ("445660", "TVA déductible sur biens et services"),
    ("445710", "TVA collectée"),
    ("512000", "Banque"),
    ("530000", "Caisse"),
    ("601000", "Achats de matières premières"),
    ("606100", "Fournitures non stockables (eau, énergie)"),
    ("606300", "Fournitures d'entretien et petit équipement"),
    ("615500", "Entretien et réparations sur biens mobiliers"),
    ("616000", "Primes d'assurances"),
    ("622600", "Honoraires"),
    ("625100", "Voyages et déplacements"),
    ("641000", "Rémunérations du personnel"),
    ("661100", "Intérêts des emprunts"),
    ("681120", "Dotations aux amortissements des immobilisations"),
    ("706000", "Prestations de services"),
    ("708800", "Autres produits d'activités annexes"),
]

JOURNALS = [
    ("AC", "Achats"),
    ("VT", "Ventes"),
    ("BQ", "Banque"),
    ("OD", "Opérations diverses"),
]

PURCHASES = [
    ("606100", "Gazole non routier"),
    ("606300", "Petit outillage"),
    ("615500", "Réparation moissonneuse"),
    ("615500", "Réparation\tpneu avant"),  # a tab pasted into a label must survive export
    ("616000", "Assurance matériel"),
    ("622600", "Honoraires comptables"),
    ("601000", "Ficelle et filet"),
    ("601000", "Film d'enrubannage"),
]

BANKS = ["Crédit Agricole Nord Midi-Pyrénées", "Banque Populaire Occitane", "Crédit Mutuel", "CIC Sud Ouest"]
