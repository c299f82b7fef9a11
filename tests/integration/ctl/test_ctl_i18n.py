# SPDX-License-Identifier: Apache-2.0
"""caractrl speaks Traditional Chinese: LANGUAGE=zh_TW on C.UTF-8 (always available), and
LC_ALL=zh_TW.UTF-8 with a locale compiled by localedef into a private LOCPATH (when the locale
sources are installed).  Every message of po/zh_TW.po is translated (msgfmt --statistics)."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import BUILD, SOURCE, Ctl, check  # noqa: E402


def assert_chinese(ctl, env):
    r = ctl.expect(2, "frobnicate", env=env)
    check(r.err == "caractrl: 未知的指令「frobnicate」\n請執行「caractrl --help」以取得更多資訊。\n",
          "usage error in zh_TW", env, r)
    r = ctl.ok("--help", env=env)
    check("用法：caractrl [選項...] 指令 ..." in r.out and "依資訊清單建立或更新資源" in r.out, "help in zh_TW", r)
    r = ctl.expect(7, "version", env=env)
    check(r.out.startswith("用戶端版本：") and "無法連線到位於 http://127.0.0.1:1 的伺服器" in r.err, "version in zh_TW", r)
    r = ctl.expect(2, "apply", "-f", "-", input="kind: Widget\nmetadata: {name: x}\n", env=env)
    check("不支援的種類「Widget」" in r.err, "manifest error in zh_TW", r)


def main():
    mo = os.path.join(BUILD, "po", "zh_TW", "LC_MESSAGES", "caravanserai.mo")
    check(os.path.exists(mo), "the build compiles po/zh_TW.po", mo)
    stats = subprocess.run(["msgfmt", "--statistics", "-c", "-o", "/dev/null", os.path.join(SOURCE, "po", "zh_TW.po")],
                           capture_output=True, text=True)
    check(stats.returncode == 0 and "untranslated" not in stats.stderr and "fuzzy" not in stats.stderr,
          "zh_TW.po is complete", stats.stderr)
    # ... and holds every message the sources have now (a template made afresh from POTFILES, so a
    # new message nobody ran `ninja caravanserai-update-po` for is caught here).
    with open(os.path.join(SOURCE, "po", "POTFILES")) as f:
        files = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "fresh.pot")
        x = subprocess.run(["xgettext", "--from-code=UTF-8", "--language=C", "--keyword=_", "--keyword=N_",
                            "--keyword=ngettext:1,2", "-o", pot] + files, cwd=SOURCE, capture_output=True, text=True)
        check(x.returncode == 0, "xgettext over po/POTFILES", x.stderr)
        cmp = subprocess.run(["msgcmp", "--use-untranslated", os.path.join(SOURCE, "po", "zh_TW.po"), pot],
                             capture_output=True, text=True)
        check(cmp.returncode == 0, "zh_TW.po has every message of the sources (run ninja caravanserai-pot "
              "caravanserai-update-po and translate)", cmp.stderr[-3000:])
    with Ctl("http://127.0.0.1:1") as ctl:
        # English by default
        r = ctl.expect(2, "frobnicate")
        check("unknown command 'frobnicate'" in r.err, "English by default", r)
        assert_chinese(ctl, {"LANGUAGE": "zh_TW"})
        # a real zh_TW.UTF-8 locale, compiled privately
        locpath = tempfile.mkdtemp(prefix="caractrl-locale-")
        try:
            made = shutil.which("localedef") and subprocess.run(
                ["localedef", "-i", "zh_TW", "-f", "UTF-8", os.path.join(locpath, "zh_TW.UTF-8")],
                capture_output=True).returncode in (0, 1) and os.path.isdir(os.path.join(locpath, "zh_TW.UTF-8"))
            if made:
                assert_chinese(ctl, {"LC_ALL": "zh_TW.UTF-8", "LOCPATH": locpath})
            else:
                print("note: localedef could not build zh_TW.UTF-8; checked LANGUAGE=zh_TW only")
        finally:
            shutil.rmtree(locpath, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
