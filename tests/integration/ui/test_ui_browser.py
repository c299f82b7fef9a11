#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard in a real browser (headless Chromium driven by Selenium) against a real
cara-server, cara-agent and dockerd (SPEC §15): a wrong token gets a clear message; an admin
signs in and sees a project go Pending -> Running without a reload, opens it by keyboard, follows
a service's log and sees the line its container prints, sees its events and rolls it back to an
earlier revision, drains the node behind a
confirmation and sees its state change, then uncordons it; across a server restart the page says
"Reconnecting", watches again from the last resourceVersion and shows a drain made meanwhile; a
read-only token sees no action button anywhere; of 206 projects the first 200 are shown and a
filter finds the others; the admin deletes the project, behind a confirmation; the page fits
1280x800 and 390x844 without sideways scrolling, in light and dark, and in zh_TW for a browser
that prefers it; a server without authorisation is entered with an empty token, kept on reload; the browser console shows no CSP violation and no error (the only failed loads
allowed are the wrong token's 401 and the network errors while the server is away); a GET that
meets a network error is tried again, a PUT is not.

CARA_UI_SCREENSHOTS=DIR saves the overview and a project page, light and dark, into DIR (the
README's pictures in docs/ come from there)."""

import json
import os
import shutil
import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service
from cara_server import CaraServer

try:
    import selenium  # noqa: F401
except ImportError:
    # Debian's python3-selenium, when another python3 comes first on PATH
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    fx.skip("python3-selenium is not installed (apt-get install chromium chromium-driver python3-selenium)")

ADMIN, JOIN, READER = "ui-admin-" + os.urandom(16).hex(), "ui-join-" + os.urandom(16).hex(), "ui-reader-" + os.urandom(16).hex()


def find(*names):
    for n in names:
        p = shutil.which(n) or (n if os.path.exists(n) else None)
        if p:
            return p
    return None


class Browser:
    @staticmethod
    def programs():
        chrome = find("chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome")
        driver = find("chromedriver", "/usr/bin/chromedriver")
        if not chrome or not driver:
            fx.skip("chromium and chromium-driver are not installed")
        return chrome, driver

    def __init__(self, lang="en-US"):
        chrome, driver = self.programs()
        opts = webdriver.ChromeOptions()
        opts.binary_location = chrome
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1280,800", "--lang=" + lang, "--no-first-run", "--disable-extensions",
                  "--user-data-dir=" + os.path.join(fx.log_dir(), "chromium-profile-" + lang)):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service_log = os.path.join(fx.log_dir(), "chromedriver-%s.log" % lang)
        try:
            self.d = webdriver.Chrome(service=webdriver.ChromeService(driver, log_output=service_log)
                                      if hasattr(webdriver, "ChromeService")
                                      else webdriver.chrome.service.Service(driver, log_path=service_log),
                                      options=opts)
        except WebDriverException as e:
            fx.skip("headless Chromium does not start here: %s" % e.msg)
        fx.on_exit(self.d.quit)
        self.console = []

    def wait(self, what, predicate, timeout=30):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: predicate())
        except Exception:
            self.drain_console()
            print("page text when waiting for %s:\n%s" % (what, self.d.find_element(By.TAG_NAME, "body").text))
            print("console: %s" % json.dumps(self.console, indent=1))
            raise AssertionError("timed out waiting for " + what)

    def text(self, css="body"):
        """The rendered text of every element matching @css (read in one go: the page may replace
        them at any moment)."""
        return self.d.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText).join(' ')", css)

    def visible(self, css):
        return [e for e in self.d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]

    def drain_console(self):
        self.console += self.d.get_log("browser")
        return self.console

    def requested(self):
        """The URLs the page requested since the last call (Chromium's network log)."""
        urls = []
        for e in self.d.get_log("performance"):
            m = json.loads(e["message"])["message"]
            if m.get("method") == "Network.requestWillBeSent":
                urls.append(m["params"]["request"]["url"])
        return urls

    def sign_in(self, token):
        box = self.wait("the sign-in form", lambda: self.visible("#token"))[0]
        box.clear()
        box.send_keys(token + Keys.ENTER)

    def sign_out(self):
        self.visible("#signout")[0].click()
        self.wait("the sign-in form", lambda: self.visible("#token"))

    def click(self, css):
        """Clicks the element, again if a live update replaced it under the pointer."""
        def clicked():
            try:
                self.visible(css)[0].click()
                return True
            except (StaleElementReferenceException, IndexError):
                return False
        self.wait("a click on " + css, clicked)

    def confirm(self, button_css):
        self.click(button_css)
        dlg = self.wait("the confirmation", lambda: self.visible("dialog[open]"))[0]
        ok = dlg.find_element(By.ID, "confirm-ok")
        ok.click()
        self.wait("the confirmation to close", lambda: not self.visible("dialog[open]"))

    def fits(self, what):
        sw, iw = self.d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert sw <= iw, "%s scrolls sideways: %d > %d" % (what, sw, iw)

    def viewport(self, width, height):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        got = self.d.execute_script("return [window.innerWidth, window.innerHeight]")
        assert got == [width, height], got

    def set_dark(self, dark):
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})

    def shot(self, name):
        out = os.environ.get("CARA_UI_SCREENSHOTS")
        if out:
            os.makedirs(out, exist_ok=True)
            # the top of the page, without the last action's passing notice
            self.d.execute_script("window.scrollTo(0, 0); document.getElementById('toast').className = 'toast'")
            time.sleep(0.3)  # let the page settle after the last update before the picture
            self.d.save_screenshot(os.path.join(out, name))


def api(c, method, path, body=None, token=ADMIN):
    return fx.http_json(method, c.url + path, body, headers={"Authorization": "Bearer " + token})


def api_status(c, path):
    """The status of a GET (a route this server lacks answers 404 in plain text)."""
    return fx.http("GET", c.url + path, headers={"Authorization": "Bearer " + ADMIN})[0]


def main():
    Browser.programs()
    with AgentCluster(server_env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": ADMIN, "CARA_JOIN_TOKEN": JOIN,
                                  "CARA_READ_TOKENS": READER}) as c:
        b = Browser()
        agent = c.agent("n1", env={"CARA_TOKEN": JOIN}, wait=False)
        agent.wait_ready()
        node = agent.node
        fx.wait_until(lambda: (api(c, "GET", "/api/v1/nodes/" + node)[2] or {}).get("status", {}).get("state") == "Ready",
                      timeout=30, what="node Ready")
        name = fx.unique_name("ui")
        web = [service("talker", command=["sh", "-c", "echo hello-from-the-ui-test; i=0; while true; do "
                                                        "i=$((i+1)); echo tick-$i; sleep 1; done"],
                       resources={"cpu": "250m", "memory": "64Mi"}),
               service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"], resources={"cpu": "100m", "memory": "32Mi"})]

        b.viewport(1280, 800)
        b.d.get(c.url + "/ui/")
        b.d.execute_script("window.__noReload = 'same page'")
        # a wrong token: a clear message, still on the sign-in form
        b.sign_in("not-a-token")
        b.wait("the wrong-token message", lambda: "not accepted" in b.text("#signin-error"))
        assert "401" in b.text("#signin-error"), b.text("#signin-error")
        wrong_token_console = b.drain_console()[:]

        # the admin: the node Ready on the overview, then a project Pending, then Running
        b.sign_in(ADMIN)
        b.wait("the node on the overview", lambda: node in b.text("table") and "Ready" in b.text("table"))
        assert b.text(".who") == "admin", b.text(".who")
        # the token lives in this tab's sessionStorage only: no cookie, nothing in localStorage
        stored = b.d.execute_script("return [document.cookie, localStorage.length,"
                                    " Object.keys(sessionStorage).map(k => sessionStorage.getItem(k))]")
        assert stored[0] == "" and stored[1] == 0 and ADMIN in stored[2], stored
        # a GET meeting a network error (a kept-alive connection closed as it was reused) is tried
        # again; a PUT is not, as it may have been applied
        retried = b.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import('./api.js').then(async ({ request }) => {
              const real = window.fetch;
              let calls = 0;
              window.fetch = (...a) => (calls++ === 0 ? Promise.reject(new TypeError('Failed to fetch')) : real(...a));
              const out = {};
              try {
                out.get = (await request('GET', '/api/v1/whoami')).status;
                out.getCalls = calls;
                calls = 0;
                try { await request('PUT', '/api/v1/whoami', { body: {} }); out.put = 'answered'; }
                catch (e) { out.put = e.message; }
                out.putCalls = calls;
              } finally { window.fetch = real; }
              done(out);
            }, (e) => done(String(e)));""")
        assert retried == {"get": 200, "getCalls": 2, "put": "Failed to fetch", "putCalls": 1}, retried
        pending = project(name, web, node_selector={"ui-test": "nowhere"})
        s, _, body = api(c, "POST", "/api/v1/projects", pending)
        assert s == 201, (s, body)
        row = 'a[data-key="project:%s"]' % name
        b.wait("the project Pending", lambda: b.visible(row) and "Pending" in b.text("tr:has(%s)" % row))
        s, _, body = api(c, "PUT", "/api/v1/projects/" + name, project(name, web))
        assert s == 200, (s, body)
        b.wait("the project Running", lambda: "Running" in b.text("tr:has(%s)" % row), timeout=60)
        b.wait("the node's allocated CPU", lambda: "350m" in b.text('tr:has(a[data-key="node:%s"])' % node))
        b.fits("the overview at 1280x800")
        b.shot("ui-overview-light.png")

        # keyboard: the skip link comes first; from the heading a page opens with, Tab reaches the
        # project's link and Enter opens it
        first = b.d.execute_script("return document.querySelector('a[href], button:not([hidden]), input, select')")
        assert first.get_attribute("class") == "skip", "the first focusable element is not the skip link"
        assert b.d.switch_to.active_element.tag_name == "h1", "the page's heading does not have the focus"
        keys = ActionChains(b.d)  # keys go to whatever has the focus, as a user's do
        for _ in range(60):
            if b.d.execute_script("return document.activeElement.getAttribute('data-key')") == "project:" + name:
                break
            keys.send_keys(Keys.TAB).perform()
        else:
            raise AssertionError("Tab never reached the project's link")
        keys.send_keys(Keys.ENTER).perform()
        b.wait("the project page", lambda: "#/projects/" in b.d.current_url and b.visible("#log-service"))
        b.wait("the services running", lambda: b.text("section:has(#h-services) tbody").count("running") == 2)
        assert "cara-test/busybox" in b.text("section:has(#h-services)")
        # the log of a chosen service
        from selenium.webdriver.support.ui import Select
        Select(b.visible("#log-service")[0]).select_by_value("talker")
        b.click("#log-follow")
        b.wait("the container's line in the log", lambda: "hello-from-the-ui-test" in b.text("#logs"))
        b.wait("the log to follow", lambda: "tick-3" in b.text("#logs"), timeout=20)
        # the project's events and revision history, from their routes
        b.wait("the events and revisions sections", lambda: "Loading" not in b.text("section:has(#h-events)")
               and "Loading" not in b.text("section:has(#h-revision-history)"))
        errors = [e.text for e in b.visible("section .error")]
        assert not errors, (errors, b.drain_console())
        assert api_status(c, "/api/v1/events?project=" + name) == 200
        b.wait("the project's Scheduled event", lambda: "Scheduled" in b.text("section:has(#h-events) tbody"))
        # a third spec, then back to the second one from the page
        changed = project(name, [dict(web[0], env=[{"name": "UI_TEST", "value": "3"}]), web[1]])
        assert api(c, "PUT", "/api/v1/projects/" + name, changed)[0] == 200
        history = "section:has(#h-revision-history) tbody tr"
        b.wait("three revisions", lambda: len(b.d.find_elements(By.CSS_SELECTOR, history)) >= 3)
        b.confirm('button[data-key="rollback:2"]')
        fx.wait_until(lambda: api(c, "GET", "/api/v1/projects/" + name)[2]["metadata"].get("generation") == 4,
                      timeout=30, what="the rollback applied as revision 4")
        b.wait("the rollback in the history", lambda: len(b.d.find_elements(By.CSS_SELECTOR, history)) >= 4)
        b.wait("the project Running again", lambda: "Running" in b.text("h1"), timeout=60)
        b.fits("the project page at 1280x800")
        b.shot("ui-project-light.png")
        b.set_dark(True)
        b.shot("ui-project-dark.png")
        dark_bg = b.d.execute_script("return getComputedStyle(document.body).backgroundColor")
        b.d.get(c.url + "/ui/#/")  # a reload: the token stays in the tab's sessionStorage
        b.wait("the overview again", lambda: b.visible(row) and "Running" in b.text("tr:has(%s)" % row))
        b.shot("ui-overview-dark.png")
        b.set_dark(False)
        light_bg = b.d.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert dark_bg != light_bg, "prefers-color-scheme: dark changes nothing (%s)" % dark_bg
        b.d.execute_script("window.__noReload = 'same page'")

        # drain the node from its page, behind a confirmation; then uncordon it
        b.click('a[data-key="node:%s"]' % node)
        b.wait("the node page", lambda: b.visible("button[data-key=drain]"))
        # Escape cancels a confirmation: nothing happens
        b.click("button[data-key=drain]")
        b.wait("the confirmation", lambda: b.visible("dialog[open]"))
        assert b.d.switch_to.active_element.get_attribute("id") == "confirm-cancel", "Cancel does not have the focus"
        ActionChains(b.d).send_keys(Keys.ESCAPE).perform()
        b.wait("the confirmation to close", lambda: not b.visible("dialog[open]"))
        assert (api(c, "GET", "/api/v1/nodes/" + node)[2])["status"]["state"] == "Ready", "a cancelled drain drained"
        b.confirm("button[data-key=drain]")
        b.wait("the node Draining", lambda: "Draining" in b.text("h1"))
        assert (api(c, "GET", "/api/v1/nodes/" + node)[2])["status"]["state"] == "Draining"
        b.confirm("button[data-key=uncordon]")
        b.wait("the node Ready again", lambda: "Ready" in b.text("h1") and b.visible("button[data-key=drain]"))
        # the server restarts: the page says so, watches again from the last resourceVersion it
        # saw and shows what changed meanwhile, without a reload
        b.requested()
        restart_from = len(b.drain_console())
        c.server.stop()
        b.wait("the page to notice", lambda: "Reconnecting" in b.text("#live"))
        c.server.start()
        c.server.wait_http(c.url + "/api/healthz", timeout=60)
        b.wait("the page live again", lambda: "Live" in b.text("#live") and "Reconnecting" not in b.text("#live"),
               timeout=40)
        restart_console = b.drain_console()[restart_from:]
        s, _, body = api(c, "POST", "/api/v1/nodes/%s/drain" % node)
        assert s in (200, 202, 204), (s, body)
        b.wait("the drain made by someone else", lambda: "Draining" in b.text("h1"))
        again = [u for u in b.requested() if "watch=true" in u]
        assert any("/api/v1/nodes?watch=true&resourceVersion=" in u for u in again), again
        assert any("/api/v1/projects?watch=true&resourceVersion=" in u for u in again), again
        b.confirm("button[data-key=uncordon]")
        b.wait("the node Ready again", lambda: "Ready" in b.text("h1") and b.visible("button[data-key=drain]"))
        # a phone
        b.viewport(390, 844)
        b.fits("the node page at 390x844")
        b.d.get(c.url + "/ui/#/projects/" + name)
        b.wait("the project page on a phone", lambda: b.visible("button[data-key=delete]"))
        b.fits("the project page at 390x844")
        b.shot("ui-project-phone.png")
        b.d.get(c.url + "/ui/#/")
        b.wait("the overview on a phone", lambda: b.visible(row))
        b.fits("the overview at 390x844")
        b.viewport(1280, 800)
        b.d.execute_script("window.__noReload = 'same page'")

        # read-only: everything visible, no action button anywhere
        b.sign_out()
        b.sign_in(READER)
        b.wait("the overview as a reader", lambda: b.visible(row) and b.text(".who") == "read-only")
        for where, ready in (("#/nodes/" + node, "Ready"), ("#/projects/" + name, "Running")):
            b.d.execute_script("location.hash = arguments[0]", where)
            b.wait(where + " as a reader", lambda: ready in b.text("h1"))
            b.wait("the revisions section", lambda: "Loading" not in b.text("section:has(#h-revision-history)"))
            buttons = [e.text for e in b.visible(".actions button, button.danger, button[data-key]")]
            assert not buttons, "a read-only token sees action buttons on %s: %s" % (where, buttons)
        assert b.d.execute_script("return window.__noReload") == "same page", "the page was reloaded"

        # many projects: the table shows the first 200, the filter finds the others
        bulk = ["%s-b%03d" % (name, i) for i in range(205)]
        for n in bulk:
            s, _, body = api(c, "POST", "/api/v1/projects", project(n, [service("x")], node_selector={"ui-test": "nowhere"}))
            assert s == 201, (s, body)
        b.d.execute_script("location.hash = '#/'")
        b.wait("the table capped", lambda: "Showing 200 of 206." in b.text("section:has(#h-projects)"))
        b.visible("#filter")[0].send_keys("-b204")
        b.wait("the filter", lambda: len(b.d.find_elements(By.CSS_SELECTOR, "section:has(#h-projects) tbody tr")) == 1
               and name + "-b204" in b.text("section:has(#h-projects) tbody"))
        b.visible("#filter")[0].send_keys("x")
        b.wait("no match", lambda: "No match." in b.text("section:has(#h-projects)"))
        for n in bulk:
            assert api(c, "DELETE", "/api/v1/projects/%s?force=true" % n)[0] == 204
        b.wait("the bulk gone", lambda: len(b.d.find_elements(By.CSS_SELECTOR, "section:has(#h-projects) tbody tr")) == 0)

        # the admin deletes the project, behind a confirmation
        b.sign_out()
        b.sign_in(ADMIN)
        b.wait("the overview as admin", lambda: b.visible(row))
        b.click(row)
        b.wait("the project page as admin", lambda: b.visible("button[data-key=delete]"))
        b.confirm("button[data-key=delete]")
        b.wait("the project gone", lambda: "was deleted" in b.text(".head") or "Terminating" in b.text("h1"), timeout=60)
        fx.wait_until(lambda: api(c, "GET", "/api/v1/projects/" + name)[0] == 404, timeout=60, what="project deleted")
        b.wait("the project gone", lambda: "was deleted" in b.text(".head"))
        assert b.d.execute_script("return window.__noReload") == "same page", "the page was reloaded"

        # the console: no CSP violation, no error, but the failed loads the test caused on purpose
        problems = []
        for e in b.drain_console():
            msg = e.get("message", "")
            if "Content Security Policy" in msg or "Content-Security-Policy" in msg:
                problems.append(e)
            elif e.get("level") == "SEVERE" or "error" in msg.lower():
                expected_401 = e in wrong_token_console and "/api/v1/whoami" in msg and "401" in msg
                # the server away: its streams cut, connections refused
                restart = e in restart_console and e.get("source") == "network" and "net::ERR_" in msg
                if not (expected_401 or restart):
                    problems.append(e)
        assert not problems, "the browser console: %s" % json.dumps(problems, indent=1)
        b.d.quit()

        # a browser that prefers Traditional Chinese gets the page in it
        zh = Browser("zh-TW")
        zh.viewport(1280, 800)
        zh.d.get(c.url + "/ui/")
        zh.wait("the sign-in form in zh_TW", lambda: "登入" in zh.text("#signin h1"))
        zh.sign_in(READER)
        zh.wait("the overview in zh_TW", lambda: "總覽" in zh.text("h1") and "就緒" in zh.text("table")
                and zh.text(".who") == "唯讀")
        assert zh.d.execute_script("return document.documentElement.lang") == "zh-TW"
        ids = zh.d.execute_script("return [...document.querySelectorAll('[id]')].map((e) => e.id)")
        assert len(ids) == len(set(ids)) and "h-nodes" in ids, ids

    # a server without authorisation: an empty token enters, and the tab remembers it
    with fx.Postgres() as pg, CaraServer(database_url=pg.url, env={"CARA_AUTH": "none"}) as open_srv:
        zh.d.get(open_srv.url + "/ui/")
        zh.sign_in("")
        zh.wait("the overview without a token", lambda: "總覽" in zh.text("h1") and zh.text(".who") == "管理員")
        zh.d.refresh()
        zh.wait("the overview after a reload", lambda: "總覽" in zh.text("h1"))
        assert not zh.visible("#token"), "a reload asked for a token again"
    print("ok   sign-in (wrong token refused), Pending -> Running live, keyboard, logs, drain/uncordon, "
          "server restart, read-only without actions, 206 projects filtered, delete, 1280x800 and 390x844, dark mode, clean console, zh_TW, CARA_AUTH=none")


if __name__ == "__main__":
    main()
