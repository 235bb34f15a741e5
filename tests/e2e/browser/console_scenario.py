"""Drives the guardian's console in headless Chromium (Debian's chromium and chromedriver,
inside the test-tools container). Prints one JSON document of what it saw; saves a screenshot
per step under /srv/shots. Usage: console_scenario.py BASE_URL USER PASSWORD DOSSIER"""

import json
import sys

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

base, user, password, dossier = sys.argv[1:5]
seen = {}
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
wait = WebDriverWait(driver, 120, poll_frequency=0.25)


def shot(name):
    driver.save_screenshot(f"/srv/shots/{name}.png")


def job_finished(previous):
    def check(d):
        try:
            box = d.find_element(By.ID, "job")
            state = box.get_attribute("data-state")
            text = box.text
        except WebDriverException:
            # The page is loading or being replaced (the status page refreshes itself):
            # missing, stale, or a node chromedriver no longer finds mid-navigation.
            return False
        return text if state in ("done", "failed") and text != previous else False

    return check


def click_and_reload(element_id):
    """Click a button that posts a form, and wait until the next page replaced this one."""
    marker = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    wait.until(ec.staleness_of(marker))
    wait.until(ec.presence_of_element_located((By.ID, "job")))


def run_action(button_id, name):
    previous = driver.find_element(By.ID, "job").text if driver.find_elements(By.ID, "job") else ""
    click_and_reload(button_id)
    text = wait.until(job_finished(previous))
    seen[name] = text
    return text


try:
    driver.get(base + "/statut")
    wait.until(ec.presence_of_element_located((By.ID, "login")))
    seen["redirected_to_login"] = "/login" in driver.current_url
    shot("01-identification")
    driver.find_element(By.ID, "login").send_keys(user)
    driver.find_element(By.ID, "password").send_keys("mauvais")
    driver.find_element(By.ID, "connect").click()
    seen["wrong_password"] = wait.until(ec.presence_of_element_located((By.ID, "login-error"))).text
    driver.find_element(By.ID, "login").clear()
    driver.find_element(By.ID, "login").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "connect").click()
    wait.until(ec.presence_of_element_located((By.ID, "indicator-serveur_distant")))
    seen["indicators"] = {
        e.get_attribute("id"): e.get_attribute("data-green") for e in driver.find_elements(By.CLASS_NAME, "indicator")
    }
    seen["indicator_states"] = {
        e.get_attribute("id"): e.get_attribute("data-state") for e in driver.find_elements(By.CLASS_NAME, "indicator")
    }
    seen["paris_time"] = "à Paris)" in driver.page_source
    shot("02-statut-des-serveurs")

    run_action("action-backup", "backup")
    shot("03-sauvegarde-terminee")

    driver.get(base + "/sauvegardes")
    seen["backups_rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#backups tbody tr"))
    seen["download_links"] = [
        e.get_attribute("href") for e in driver.find_elements(By.CSS_SELECTOR, "#backups a[download]")
    ]
    shot("04-repertoire-des-sauvegardes")

    driver.get(base + "/statut")
    run_action("action-fallback", "fallback")
    driver.get(base + "/statut")
    seen["standby_button"] = bool(driver.find_elements(By.ID, "action-standby"))
    shot("05-mode-secours")

    driver.get(base + "/etat")
    wait.until(ec.presence_of_element_located((By.ID, f"select-{dossier}")))
    seen["state_before_restore"] = driver.find_element(By.ID, f"state-{dossier}").text
    driver.find_element(By.ID, f"select-{dossier}").click()
    driver.find_element(By.ID, "restore-password").send_keys(password)
    shot("06-etat-des-sauvegardes-remontee")
    click_and_reload("restore")
    seen["restore"] = wait.until(job_finished(""))
    shot("07-remontee-terminee")

    run_action("action-standby", "standby")
    driver.get(base + "/statut")
    seen["fallback_button_back"] = bool(driver.find_elements(By.ID, "action-fallback"))
    shot("08-retour-mode-veille")

    driver.get(base + "/parametrages")
    seen["settings_page"] = "Synchroniser le serveur local" in driver.page_source
    seen["hors_site"] = bool(driver.find_elements(By.ID, "hors-site")) and bool(
        driver.find_elements(By.ID, "offsite-none")
    )
    shot("09-parametrages")
    driver.get(base + "/logs?niveau=INFO")
    seen["log_lines"] = len(driver.find_elements(By.CSS_SELECTOR, "#log-lines tbody tr"))
    seen["log_levels"] = sorted(
        {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log-lines tbody td:nth-child(2)")}
    )
    shot("10-logs")
except Exception as error:  # noqa: BLE001 - report what happened, with a screenshot, instead of a bare trace
    seen["error"] = repr(error)
    shot("99-erreur")
finally:
    driver.quit()
print(json.dumps(seen, ensure_ascii=False))
