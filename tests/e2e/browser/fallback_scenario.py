"""The day the link drops, in headless Chromium (Debian's chromium and chromedriver, inside
the test-tools container), one phase per call so a test can cut and restore the link between
them. Prints one JSON document of what it saw; saves its screenshots under /srv/shots.

Usage: fallback_scenario.py CONSOLE_URL LAN_URL USER PASSWORD PHASE [options]

Phases:
  login     log in to the console while the central server answers (the console then
            accepts this password offline, during the outage)
  outage    the central server cut: the status page once its outage banner offers
            "Basculer en mode secours" (11-alerte-serveur-injoignable); --switch clicks it
            and waits for the switch to finish
  fallback  the LAN address in fallback mode: NeoCuma Web with its banner
            (12-bandeau-mode-secours); --bon CODE enters one bon in that dossier through the
            form (repeatable), as a LAN user would
  return    the link back: the console's banner says the central server answers again, the
            return page lists the dossiers (13-retour-au-serveur-central); --entier CODE
            chooses "entier" for that dossier (repeatable); the return is started with the
            password and followed to its end (14-retour-termine)

Options: --web-user/--web-password (NeoCuma Web's account; default USER and PASSWORD),
--wait SECONDS (how long a condition is awaited, 300 by default)."""

import argparse
import json
import re

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("console")
parser.add_argument("lan")
parser.add_argument("user")
parser.add_argument("password")
parser.add_argument("phase", choices=("login", "outage", "fallback", "return"))
parser.add_argument("--switch", action="store_true")
parser.add_argument("--bon", action="append", default=[])
parser.add_argument("--entier", action="append", default=[])
parser.add_argument("--web-user")
parser.add_argument("--web-password")
parser.add_argument("--wait", type=float, default=300)
args = parser.parse_args()
console, lan = args.console.rstrip("/"), args.lan.rstrip("/")

seen = {"phase": args.phase}
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    "--lang=fr-FR",
):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, args.wait, poll_frequency=0.25)


def shot(name):
    driver.save_screenshot(f"/srv/shots/{name}.png")


def present(element_id):
    return bool(driver.find_elements(By.ID, element_id))


def reloaded_until(url, condition, what, every=2.0):
    """Load ``url`` again every ``every`` seconds until ``condition()`` holds (a page that
    does not refresh itself: the banners are drawn by the server)."""

    def check(_):
        try:
            driver.get(url)
            return condition()
        except WebDriverException:
            return False

    WebDriverWait(driver, args.wait, poll_frequency=every).until(check, f"{what} ({url})")


def job_finished(previous):
    def check(d):
        try:
            box = d.find_element(By.ID, "job")
            state, text = box.get_attribute("data-state"), box.text
        except WebDriverException:  # the page is being replaced
            return False
        return text if state in ("done", "failed") and text != previous else False

    return check


def click_and_reload(element_id):
    """Click a button that posts a form, and wait until the next page replaced this one."""
    marker = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    wait.until(ec.staleness_of(marker))
    wait.until(ec.presence_of_element_located((By.TAG_NAME, "body")))


def console_login():
    driver.get(console + "/statut")
    wait.until(ec.presence_of_element_located((By.ID, "login")))
    driver.find_element(By.ID, "login").send_keys(args.user)
    driver.find_element(By.ID, "password").send_keys(args.password)
    driver.find_element(By.ID, "connect").click()
    wait.until(lambda d: present("indicator-serveur_distant") or present("login-error") or "/statut" in d.current_url)
    if present("login-error"):
        raise RuntimeError("console login refused: " + driver.find_element(By.ID, "login-error").text)
    wait.until(ec.presence_of_element_located((By.ID, "job")))


def phase_login():
    console_login()
    seen["logged_in"] = True


def phase_outage():
    console_login()
    # The banner offers the switch only in standby mode: after an automatic switch it is gone.
    reloaded_until(
        console + "/statut",
        lambda: present("outage-banner") or present("return-banner"),
        "the console's outage banner",
    )
    if not present("outage-banner"):
        raise RuntimeError("the local server is in fallback mode already (an automatic switch?): no outage banner")
    banner = driver.find_element(By.ID, "outage-banner")
    seen["outage_banner"] = banner.text
    seen["switch_offered"] = present("banner-fallback")
    remote = driver.find_element(By.ID, "indicator-serveur_distant")
    seen["remote_indicator"] = remote.get_attribute("data-state")
    shot("11-alerte-serveur-injoignable")
    if args.switch:
        previous = driver.find_element(By.ID, "job").text
        click_and_reload("banner-fallback")
        driver.get(console + "/statut")
        seen["switch"] = wait.until(job_finished(previous))
        seen["return_banner"] = present("return-banner")


def web_login(url):
    driver.get(url)
    if driver.find_elements(By.NAME, "login") and driver.find_elements(By.NAME, "password"):
        driver.find_element(By.NAME, "login").send_keys(args.web_user or args.user)
        driver.find_element(By.NAME, "password").send_keys(args.web_password or args.password)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: not d.find_elements(By.NAME, "password"))


def enter_bon(code):
    """One bon through NeoCuma Web's form, in the dossier's last open exercice, dated its
    first day (inside the exercice, as the form's rules ask)."""
    driver.get(f"{lan}/dossiers/{code}")
    rows = [
        row
        for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        if "ouvert" in row.text and "clôturé" not in row.text
    ]
    if not rows:
        raise RuntimeError(f"no open exercice in {code}")
    start = rows[-1].find_elements(By.TAG_NAME, "td")[1].text  # JJ/MM/AAAA
    rows[-1].find_element(By.LINK_TEXT, "Bons de travaux").click()
    wait.until(ec.presence_of_element_located((By.NAME, "quantite")))
    day_, month, year = start.split("/")
    day = f"{year}-{month}-{day_}"
    date = driver.find_element(By.NAME, "date")
    driver.execute_script("arguments[0].value = arguments[1]", date, day)
    driver.find_element(By.NAME, "quantite").send_keys("2")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    flash = wait.until(ec.presence_of_element_located((By.CLASS_NAME, "flash"))).text
    found = re.search(r"Bon (\S+) enregistré", flash)
    return found.group(1) if found else flash


def phase_fallback():
    reloaded_until(lan + "/", lambda: present("fallback-banner"), "NeoCuma Web's fallback banner on the LAN address")
    web_login(lan + "/dossiers")
    driver.get(lan + "/dossiers")
    seen["dossiers"] = [
        cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr td:first-child")
    ]
    seen["bons"] = [[code, enter_bon(code)] for code in args.bon]  # (dossier, local number), in order
    if not args.bon:
        driver.get(lan + "/dossiers")
    seen["fallback_banner"] = driver.find_element(By.ID, "fallback-banner").text
    seen["url"] = driver.current_url
    shot("12-bandeau-mode-secours")


def plan_rows():
    rows = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#return-plan tbody tr"):
        code = row.get_attribute("id").removeprefix("return-line-")
        rows[code] = {
            "selectionne": driver.find_element(By.ID, f"return-select-{code}").is_selected(),
            "bons_locaux": driver.find_element(By.ID, f"return-entered-{code}").text,
            "en_attente": driver.find_element(By.ID, f"return-pending-{code}").text,
            "central": driver.find_element(By.ID, f"return-central-{code}").text,
            "entier_propose": present(f"return-method-{code}-entier"),
            "bloque": driver.find_element(By.ID, f"return-blocked-{code}").text,
        }
    return rows


def phase_return():
    console_login()
    reloaded_until(
        console + "/statut",
        lambda: driver.find_element(By.ID, "return-banner").get_attribute("data-central-answers") == "true",
        "the console's banner saying the central server answers again",
    )
    seen["return_banner"] = driver.find_element(By.ID, "return-banner").text
    driver.find_element(By.ID, "return-link").click()
    reloaded_until(
        console + "/retour",
        lambda: driver.find_element(By.ID, "central-state").get_attribute("data-reachable") == "true",
        "the return page reading the central server",
    )
    seen["plan"] = plan_rows()
    for code in args.entier:
        driver.find_element(By.ID, f"return-method-{code}-entier").click()
    driver.find_element(By.ID, "return-password").send_keys(args.password)
    shot("13-retour-au-serveur-central")
    previous = driver.find_element(By.ID, "job").text
    click_and_reload("return-start")
    if present("return-refusal"):
        raise RuntimeError("return refused: " + driver.find_element(By.ID, "return-refusal").text)
    seen["return"] = wait.until(job_finished(previous))
    driver.get(console + "/retour")
    seen["after"] = {
        "not_fallback": present("return-not-fallback"),
        "refused_rows": len(driver.find_elements(By.CSS_SELECTOR, "#refused-operations tbody tr")),
        "return_banner": present("return-banner"),
    }
    shot("14-retour-termine")


try:
    {"login": phase_login, "outage": phase_outage, "fallback": phase_fallback, "return": phase_return}[args.phase]()
except Exception as error:  # noqa: BLE001 - report what happened, with a screenshot, instead of a bare trace
    seen["error"] = repr(error)
    shot(f"99-erreur-{args.phase}")
finally:
    driver.quit()
print(json.dumps(seen, ensure_ascii=False))
