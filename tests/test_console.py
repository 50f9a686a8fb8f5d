"""The staff console at /staff, driven through its real forms (Starlette's test client) on a real database.

Sign-in with a password and a TOTP code, the first sign-in's set-up, lock-outs, the idle
timeout, CSRF, roles (a viewer never sees contact details), a coordinator's whole day
(find a lead, open it, call, record the attempt, change the status, merge, export),
what the audit log says about each step, and the `screening-bot staff` commands.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from bot.cli import main
from bot.console import auth
from bot.console.app import Console
from bot.console.desk import Filters
from bot.dialog.model import Dialog
from bot.staff import staff_identity
from bot.store import audit

from .conftest import DIALOG_PATH, Screener, give_contact, reach_outcome, start_screening
from .test_safety import low_mood_yes
from .web_driver import make_app

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PASSWORD = "a long and plain password"
SESSION = "staff_session"


class Clock:
    """The console's time, moved on by the test (TOTP steps, idle timeout, lock-outs)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def wait(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Site:
    """The real web app (chat + console) over one database, with leads made through the real screening."""

    def __init__(self, dialog: Dialog, db_path: Path, **settings: str) -> None:
        self.app, self.screener = make_app(dialog, db_path, leads=True, **settings)
        self.console: Console = self.app.state.staff_console.console
        self.clock = Clock()
        self.console.desk.clock = self.clock
        self.db = self.screener.store.db
        self.secrets: dict[str, str] = {}

    def account(self, username: str, role: str, enrolled: bool = True) -> None:
        accounts = self.console.desk.accounts
        made = accounts.add(username, role, auth.hash_password(PASSWORD), START.isoformat())
        if enrolled:
            self.secrets[username] = pyotp.random_base32()
            accounts.enrol(made.id, auth.hash_password(PASSWORD), self.secrets[username], 0)

    def code(self, username: str) -> str:
        return pyotp.TOTP(self.secrets[username]).at(self.clock.now)

    def client(self) -> TestClient:
        return TestClient(self.app)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no form on the page"
    return found.group(1)


def sign_in(site: Site, client: TestClient, username: str, code: str | None = None, password: str = PASSWORD):
    form = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={"csrf": csrf_of(form.text), "username": username, "password": password, "code": code or ""},
        follow_redirects=False,
    )


def signed_in(site: Site, username: str) -> TestClient:
    client = site.client()
    response = sign_in(site, client, username, site.code(username))
    assert response.status_code == 303 and response.headers["location"] == "/staff/", response.text
    site.clock.wait(seconds=30)  # the next sign-in needs the next code
    return client


def post(client: TestClient, page: str, path: str, **data: str):
    return client.post(path, data={"csrf": csrf_of(client.get(page).text), **data}, follow_redirects=False)


@pytest.fixture
def site(dialog: Dialog, tmp_path: Path) -> Iterator[Site]:
    """Three leads: an urgent one (a risk answer), one with a Chinese name, one from a poster campaign."""
    made = Site(dialog, tmp_path / "screening.db")
    calm = start_screening(made.screener, user="calm")
    reach_outcome(calm, dialog)
    give_contact(calm, "13912345678", "张伟")
    worried = start_screening(made.screener, user="worried")
    reach_outcome(worried, dialog, low_mood_yes(dialog))
    give_contact(worried, "139 3333 4444", '=HYPERLINK("http://x")')
    made.account("li", "coordinator")
    made.account("zhao", "viewer")
    made.account("admin", "admin")
    yield made


def lead_named(screener: Screener, name: str) -> str:
    return next(lead.id for lead in screener.leads.find() if lead.name == name)


def entries(site: Site, who: str) -> list[tuple[str, str, str]]:
    return [(e["action"], e["lead_id"], e["detail"]) for e in reversed(audit.entries(site.db, 500)) if e["who"] == who]


# ---------------------------------------------------------------- signing in


def test_the_first_sign_in_sets_up_an_own_password_and_the_code(site: Site) -> None:
    site.account("wu", "coordinator", enrolled=False)
    client = site.client()
    response = sign_in(site, client, "wu")
    assert response.headers["location"] == "/staff/enrol"
    assert client.get("/staff/leads", follow_redirects=False).status_code == 303, "nothing but the set-up yet"
    page = client.get("/staff/enrol")
    assert 'src="data:image/svg+xml' in page.text, "the QR code is drawn here, not fetched"
    secret = client.cookies.get("staff_enrol")
    assert secret.replace(" ", "") in page.text.replace(" ", "")
    short = post(client, "/staff/enrol", "/staff/enrol", password="short", password_again="short", code="000000")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    code = pyotp.TOTP(secret).at(site.clock.now)
    own = "wu's own password 2026"
    done = client.post(
        "/staff/enrol",
        data={"csrf": csrf_of(short.text), "password": own, "password_again": own, "code": code},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/staff/?done=enrolled"
    assert client.get("/staff/leads").status_code == 200
    site.clock.wait(seconds=30)
    again = site.client()
    assert sign_in(site, again, "wu", pyotp.TOTP(secret).at(site.clock.now)).status_code == 403, "the old password"
    assert sign_in(site, again, "wu", "", password="wu's own password 2026").status_code == 403, "a code is needed"
    site.clock.wait(seconds=30)
    ok = sign_in(site, again, "wu", pyotp.TOTP(secret).at(site.clock.now), password="wu's own password 2026")
    assert ok.status_code == 303 and ok.headers["location"] == "/staff/"
    assert [a for a, _l, _d in entries(site, "console:wu")][:3] == ["login", "staff-enrol", "list"]


def test_a_wrong_code_is_refused_and_five_failures_lock_the_account_longer_each_time(site: Site) -> None:
    client = site.client()
    wrong = sign_in(site, client, "li", "123456" if site.code("li") != "123456" else "654321")
    assert wrong.status_code == 403 and "The name, the password or the code is wrong" in wrong.text
    assert SESSION not in client.cookies
    for _ in range(4):
        assert sign_in(site, client, "li", "000000", password="not it").status_code == 403
    locked = sign_in(site, client, "li", site.code("li"))
    assert locked.status_code == 403, "locked: even the right password and code are refused"
    assert locked.text.count("is wrong") == 1, "the same words: a locked account is not told apart"
    site.clock.wait(minutes=5, seconds=1)
    assert sign_in(site, client, "li", "111111", password="still not").status_code == 403  # 6th failure: 10 min
    site.clock.wait(minutes=9)
    assert sign_in(site, client, "li", site.code("li")).status_code == 403
    site.clock.wait(minutes=1, seconds=31)
    assert sign_in(site, client, "li", site.code("li")).status_code == 303
    assert auth.lock_minutes(5) == 5 and auth.lock_minutes(6) == 10 and auth.lock_minutes(30) == 24 * 60
    failures = [d for a, _l, d in entries(site, "console:li") if a == "login-failed"]
    assert "console: wrong code" in failures[0] and any("locked 5 min" in d for d in failures)


def test_a_code_signs_in_once_only(site: Site) -> None:
    code = site.code("li")
    assert sign_in(site, site.client(), "li", code).status_code == 303
    assert sign_in(site, site.client(), "li", code).status_code == 403, "a code seen once cannot be replayed"


def test_an_unknown_name_and_a_disabled_account_get_the_same_answer(site: Site) -> None:
    unknown = sign_in(site, site.client(), "nobody", "123456")
    assert unknown.status_code == 403
    site.console.desk.accounts.set_disabled("li", True)
    disabled = sign_in(site, site.client(), "li", site.code("li"))
    problem = re.compile(r'<p class="problem"[^>]*>([^<]*)<')
    assert disabled.status_code == 403 and problem.findall(disabled.text) == problem.findall(unknown.text)


def test_an_idle_session_ends_and_says_why(site: Site) -> None:
    client = signed_in(site, "li")
    assert client.get("/staff/leads").status_code == 200
    site.clock.wait(minutes=14)
    assert client.get("/staff/leads").status_code == 200, "14 minutes of quiet is still within 15"
    site.clock.wait(minutes=15, seconds=1)
    ended = client.get("/staff/leads", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == "/staff/login?done=expired&next=%2Fstaff%2Fleads"
    assert "signed out because the page was not used" in client.get(ended.headers["location"]).text
    assert client.get("/staff/leads", follow_redirects=False).headers["location"].startswith("/staff/login")


def test_a_session_ends_after_twelve_hours_however_busy(site: Site) -> None:
    client = signed_in(site, "li")
    for _ in range(13 * 6):
        site.clock.wait(minutes=10)
        response = client.get("/staff/leads", follow_redirects=False)
        if response.status_code != 200:
            break
    assert response.status_code == 303 and site.clock.now - START <= timedelta(hours=12, minutes=11)


def test_sign_out_ends_the_session_and_its_forms(site: Site) -> None:
    client = signed_in(site, "li")
    page = client.get("/staff/leads").text
    assert post(client, "/staff/leads", "/staff/logout").headers["location"] == "/staff/login?done=logged-out"
    lead_id = lead_named(site.screener, "张伟")
    stale = client.post(f"/staff/leads/{lead_id}/status", data={"csrf": csrf_of(page), "status": "contacted"})
    assert stale.status_code in (200, 303, 403)
    assert site.screener.leads.get(lead_id).status == "new", "nothing changed after sign-out"


def test_a_stale_or_missing_csrf_token_changes_nothing(site: Site) -> None:
    lead_id = lead_named(site.screener, "张伟")
    first = signed_in(site, "li")
    old_token = csrf_of(first.get(f"/staff/leads/{lead_id}").text)
    post(first, "/staff/leads", "/staff/logout")
    client = signed_in(site, "li")  # a new session: the old page's token is stale
    for data in ({"csrf": old_token}, {}, {"csrf": "x" * 64}):
        refused = client.post(f"/staff/leads/{lead_id}/status", data={**data, "status": "contacted"})
        assert refused.status_code == 403 and "out of date" in refused.text
    assert site.screener.leads.get(lead_id).status == "new"
    forged = site.client().post("/staff/login", data={"username": "li", "password": PASSWORD, "code": site.code("li")})
    assert forged.status_code == 403, "the sign-in form has a CSRF token too"


def test_cookies_are_secure_behind_https_and_strict(dialog: Dialog, tmp_path: Path) -> None:
    secure = Site(dialog, tmp_path / "secure.db", public_url="https://screening.example.org")
    cookie = TestClient(secure.app, base_url="https://testserver").get("/staff/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie


# ---------------------------------------------------------------- roles


def test_a_viewer_sees_leads_and_statistics_but_never_contact_details(site: Site) -> None:
    client = signed_in(site, "zhao")
    lead_id = lead_named(site.screener, "张伟")
    queue = client.get("/staff/leads")
    assert lead_id in queue.text and "+8613912345678" not in queue.text and "张伟" not in queue.text
    page = client.get(f"/staff/leads/{lead_id}")
    assert page.status_code == 200 and "+8613912345678" not in page.text and "张伟" not in page.text
    assert "Your role does not show contact details." in page.text
    refused = client.get(f"/staff/leads/{lead_id}/contact")
    assert refused.status_code == 403 and "+8613912345678" not in refused.text
    assert client.get("/staff/leads?q=13912345678").text.count(lead_id) == 0, "no search by phone number"
    assert post(client, "/staff/leads", "/staff/export", format="csv").status_code == 403
    assert post(client, "/staff/leads", f"/staff/leads/{lead_id}/status", status="contacted").status_code == 403
    assert client.get("/staff/stats").status_code == 200
    assert client.get("/staff/accounts").status_code == 403
    assert ("refused", lead_id, "console contact details (role viewer)") in entries(site, "console:zhao")


def test_an_admin_runs_accounts_and_sees_no_lead(site: Site) -> None:
    client = signed_in(site, "admin")
    assert client.get("/staff/", follow_redirects=False).headers["location"] == "/staff/accounts"
    assert client.get("/staff/leads").status_code == 403
    added = post(client, "/staff/accounts", "/staff/accounts", action="add", username="chen", role="viewer")
    first_password = re.search(r"First password for chen: (\S+?)<", added.text).group(1)
    assert sign_in(site, site.client(), "chen", password=first_password).headers["location"] == "/staff/enrol"
    post(client, "/staff/accounts", "/staff/accounts", action="disable", username="chen")
    assert site.console.desk.accounts.get("chen").disabled
    assert ("staff-add", "", "console account=chen role=viewer") in entries(site, "console:admin")


# ---------------------------------------------------------------- a coordinator's day


def test_a_coordinator_finds_calls_records_and_exports_and_the_audit_log_says_so(site: Site) -> None:
    client = signed_in(site, "li")
    urgent = lead_named(site.screener, '=HYPERLINK("http://x")')
    calm = lead_named(site.screener, "张伟")
    queue = client.get("/staff/leads").text
    assert queue.index(urgent) < queue.index(calm), "urgent first"
    assert "URGENT" in queue
    found = client.get("/staff/leads", params={"q": "139 1234 5678"}).text
    assert calm in found and urgent not in found, "found by the phone number, exactly"
    page = client.get(f"/staff/leads/{calm}").text
    assert "+8613912345678" not in page and "Show phone number and name" in page
    contact = client.get(f"/staff/leads/{calm}/contact").text
    assert 'href="tel:+8613912345678"' in contact and "张伟" in contact
    post(client, f"/staff/leads/{calm}", f"/staff/leads/{calm}/attempt", result="no_answer", note="rang 8 times")
    assert site.screener.leads.get(calm).status == "attempt_1"
    post(client, f"/staff/leads/{calm}", f"/staff/leads/{calm}/attempt", result="reached")
    assert site.screener.leads.get(calm).status == "contacted"
    done = post(client, f"/staff/leads/{calm}", f"/staff/leads/{calm}/status", status="visit_booked", note="Mon 9:00")
    assert done.headers["location"] == f"/staff/leads/{calm}?done=status"
    page = client.get(done.headers["location"]).text
    assert "Saved: the new status." in page and "rang 8 times" in page and "visit booked" in page
    closed_without_reason = post(client, f"/staff/leads/{calm}", f"/staff/leads/{calm}/status", status="closed")
    assert closed_without_reason.status_code == 400
    export = post(client, "/staff/leads", "/staff/export", format="csv", status="all", since="2020-01-01")
    assert export.headers["content-disposition"].startswith('attachment; filename="leads-2026-11-25.csv"')
    assert export.content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel shows Chinese"
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {r["id"] for r in rows} == {urgent, calm}
    assert next(r for r in rows if r["id"] == urgent)["name"].startswith("'="), "a formula is marked as text"
    xlsx = post(client, "/staff/leads", "/staff/export", format="xlsx", status="all")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    column = [c.value for c in sheet[1]].index("name") + 1
    names = [row[column - 1].value for row in sheet.iter_rows()]
    assert '=HYPERLINK("http://x")' in names and sheet.cell(row=names.index('=HYPERLINK("http://x")') + 1,
                                                                column=column).data_type == "s"  # fmt: skip
    steps = entries(site, "console:li")
    actions = [a for a, _lead, _d in steps]
    assert actions[:2] == ["login", "list"]
    assert ("read", calm, "console") in steps and ("read-contact", calm, "console") in steps
    assert ("contact-attempt", calm, "console result=no_answer") in steps
    assert ("set-status", calm, "console status=visit_booked reason=") in steps
    exports = [d for a, _l, d in steps if a == "export"]
    assert len(exports) == 2 and all(urgent in d and calm in d for d in exports), "each export names its leads"
    assert "since=2020-01-01" in exports[0]
    seen = {
        e["action"]: e["leads_seen"].split()
        for e in reversed(audit.entries(site.db, 100))
        if e["lead_id"] in ("", calm)
    }
    assert sorted(seen["list"]) == sorted([urgent, calm]) and seen["read-contact"] == [calm], "what each view showed"
    assert sorted(seen["export"]) == sorted([urgent, calm])
    history = site.screener.leads.get(calm).history
    assert [h["who"] for h in history[-3:]] == ["console:li"] * 3


def test_duplicates_are_merged_and_an_erased_lead_is_gone(site: Site, dialog: Dialog) -> None:
    again = start_screening(site.screener, user="again")
    reach_outcome(again, dialog)
    give_contact(again, "13912345678", "Zhang Wei")
    client = signed_in(site, "li")
    first, second = lead_named(site.screener, "张伟"), lead_named(site.screener, "Zhang Wei")
    page = client.get(f"/staff/leads/{second}").text
    assert f"Lead {first} has the same phone number." in page
    merged = post(client, f"/staff/leads/{second}", f"/staff/leads/{second}/duplicate", decision="merge", other=first)
    assert merged.headers["location"] == f"/staff/leads/{second}?done=merged"
    assert site.screener.leads.get(second).close_reason == "duplicate"
    assert client.get(f"/staff/leads/{second}/erase").status_code == 200
    erased = post(client, f"/staff/leads/{second}/erase", f"/staff/leads/{second}/erase")
    assert erased.headers["location"] == "/staff/leads?done=erased"
    assert site.screener.leads.get(second) is None
    assert client.get(f"/staff/leads/{second}").status_code == 404
    assert any(action == "erase" and lead == second for action, lead, _d in entries(site, "console:li"))


def test_statistics_draw_charts_without_script_and_show_their_numbers(site: Site) -> None:
    client = signed_in(site, "li")
    page = client.get("/staff/stats")
    assert page.status_code == 200 and "<script" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'src="/staff/charts/funnel.svg"' in page.text and 'src="/staff/charts/weeks.svg"' in page.text
    for name in ("funnel", "stops", "sources", "weeks"):
        chart = client.get(f"/staff/charts/{name}.svg")
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        assert b"<script" not in chart.content and chart.content.startswith(b"<svg")
        assert chart.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert "agreed to be contacted" in page.text and "gave a phone number (lead)" in page.text
    assert signed_in(site, "admin").get("/staff/charts/funnel.svg").status_code == 403
    assert site.client().get("/staff/charts/funnel.svg").status_code == 403


def test_every_console_page_is_in_chinese_with_no_script_and_no_other_host(site: Site) -> None:
    client = signed_in(site, "li")
    client.get("/staff/language/zh_Hans?next=/staff/leads")
    lead_id = lead_named(site.screener, "张伟")
    for path in ("/staff/leads", f"/staff/leads/{lead_id}", "/staff/stats", "/staff/notifications", "/staff/audit"):
        page = client.get(path)
        assert page.status_code == 200 and '<html lang="zh-Hans">' in page.text, path
        assert "<script" not in page.text and "http://" not in page.text and "https://" not in page.text, path
        assert "Leads" not in page.text and "线索" in page.text, path
        assert page.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------- the command line


def test_staff_commands_add_list_disable_and_reset(site: Site, tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "screening.db")
    assert main(["--db", db, "staff", "add", "wang.li", "--role", "coordinator", "--staff", "it-desk"]) == 0
    first_password = capsys.readouterr().out.split(": ", 1)[1].strip()
    assert sign_in(site, site.client(), "wang.li", password=first_password).headers["location"] == "/staff/enrol"
    assert main(["--db", db, "staff", "add", "wang.li", "--role", "viewer"]) == 1
    assert main(["--db", db, "staff", "list"]) == 0
    listed = capsys.readouterr().out
    assert "wang.li" in listed and "must set up sign-in" in listed and "viewer" in listed
    assert main(["--db", db, "staff", "disable", "li"]) == 0
    assert sign_in(site, site.client(), "li", site.code("li")).status_code == 403
    assert main(["--db", db, "staff", "reset", "li"]) == 0
    new_password = capsys.readouterr().out.strip().rsplit(": ", 1)[1]
    assert main(["--db", db, "staff", "enable", "li"]) == 0
    assert sign_in(site, site.client(), "li", password=new_password).headers["location"] == "/staff/enrol"
    # Who ran it is the operating system's account; the typed --staff name is only a note beside it.
    entries = [(e["who"], e["action"], e["detail"]) for e in audit.entries(site.db, 50)]
    added = [(who, detail) for who, action, detail in entries if action == "staff-add"]
    assert added == [(staff_identity(), 'command line account=wang.li role=coordinator (signed "it-desk")')]
    assert [who for who, action, _ in entries if action == "staff-reset"] == [staff_identity()]
    with pytest.raises(SystemExit):
        main(["--db", db, "staff", "add", "x", "--role", "boss"])
    assert main(["--db", db, "--dialog", str(DIALOG_PATH), "staff", "add", "bad name!", "--role", "viewer"]) == 1


def test_inside_the_bot_a_change_is_on_disk_before_the_page_says_saved(site: Site, tmp_path: Path) -> None:
    """`run --web` shares the bot's group-committed connection: the console awaits its flush, like the chat."""
    from bot.channels.web.app import create_app

    from .web_driver import web_settings

    lead_id = lead_named(site.screener, "张伟")
    flushed: list[str] = []

    async def durable() -> None:
        lead = site.screener.leads.get(lead_id)
        flushed.append(lead.status if lead else "")

    from bot.console import attach

    settings = web_settings(tmp_path / "screening.db", web_rate_limit="0")
    app = create_app(site.screener, settings, attach=lambda *args: attach(*args, durable=durable))
    app.state.staff_console.console.desk.clock = site.clock
    client = TestClient(app)
    assert sign_in(site, client, "li", site.code("li")).status_code == 303
    done = post(client, f"/staff/leads/{lead_id}", f"/staff/leads/{lead_id}/status", status="contacted")
    assert done.status_code == 303 and flushed[-1] == "contacted", "flushed after the change, before the answer"


def test_a_big_export_names_every_lead_in_the_audit_log(site: Site, dialog: Dialog) -> None:
    """An audit entry holds 500 characters: 45 leads are named in two entries, none left out."""
    for n in range(43):
        chat = start_screening(site.screener, user=f"p{n}")
        reach_outcome(chat, dialog)
        give_contact(chat, f"139{n:08d}", None)
    coordinator = site.console.desk.accounts.get("li")
    data, _name, rows = site.console.desk.export(coordinator, "csv", Filters(status="all"))
    assert rows == 45 and data.startswith(b"\xef\xbb\xbf")
    details = [d for a, _l, d in entries(site, "console:li") if a == "export"]
    assert [d.split(" leads=")[0] for d in details] == [
        "console format=csv status=all rows=45 part 1/2",
        "console format=csv status=all rows=45 part 2/2",
    ]
    named = [i for d in details for i in d.split(" leads=")[1].split(",")]
    assert sorted(named) == sorted(lead.id for lead in site.screener.leads.find()) and all(
        len(d) <= 500 for d in details
    )
