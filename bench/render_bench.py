"""Render benchmark: time per prompt and for a whole menu set (30 prompts x 3 dialects x 3 modes),
cold and warm cache, in a temporary cache folder. Run: python bench/render_bench.py [--workers N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.config.voice_profiles import MODES, load_profiles  # noqa: E402
from ivr.speech.tts import Renderer, audio_seconds  # noqa: E402
from ivr.speech.voices import VoiceCatalog, fragment_texts  # noqa: E402

OPTIONS = ["查询账户余额", "挂失银行卡", "修改密码", "办理理赔", "查询保单", "转人工服务"]
PROMPTS = [f"{opt}，请按{k}。" for k, opt in zip("一二三四五零", OPTIONS, strict=True)] + [
    "您好，欢迎致电客户服务热线。如需人工服务，请按零，或者直接说人工。",
    "请您说出需要办理的业务，例如查询余额或者挂失。",
    "对不起，我没有听清楚。请再说一遍，或者按星号键重听。",
    "如果您觉得语速太快，请按井号键，我会说得慢一点。",
    "正在为您转接人工服务，请稍候。",
    "为了保护您的资金安全，任何人要求您转账到安全账户都是诈骗。",
    "请不要挂机，我们马上为您转接专员。",
    "您的来电已进入排队，请耐心等候。",
    "请输入您的身份证后六位，输入完毕请按井号键。",
    "您输入的号码有误，请重新输入。",
    "感谢您的来电，再见。",
    "本次通话可能会被录音，以提高服务质量。",
    "查询信用卡账单，请按一；查询储蓄卡余额，请按二。",
    "您好，您是否需要办理挂失？需要请按一，不需要请按二。",
    "我们检测到通话中可能存在风险，正在为您优先转接人工。",
    "如需重复收听，请按星号键。",
    "请问您要办理保险理赔还是查询保单？",
    "您的保单号已经发送到您的手机，请注意查收。",
    "您好，请在提示音后说出您的问题。",
    "营业时间为每天早上八点到晚上八点。",
    "如需查询网点地址，请按三。",
    "人工服务繁忙，您可以选择稍后回电，请按一。",
    "您已选择回电服务，我们会尽快联系您。",
    "请核对您的姓名和手机号码。",
]
DIALECTS = ["mandarin", "cantonese", "sichuanese"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    profiles = load_profiles(ROOT / "voices" / "profiles.yaml")
    elder = profiles.profile("mandarin", "elder")
    items = [(t, profiles.profile(d, m)) for t in PROMPTS for d in DIALECTS for m in MODES]
    with tempfile.TemporaryDirectory() as tmp:
        renderer = Renderer(Path(tmp) / "cache", workers=args.workers)
        t0 = time.perf_counter()
        renderer.warm_up()
        print(f"workers: {renderer.workers}; engine: {renderer.engine}")
        print(f"pool start (spawn + espeak-ng init): {time.perf_counter() - t0:.2f} s")

        single = []  # one at a time: the latency of one background render
        for text in PROMPTS[:10]:
            t = time.perf_counter()
            renderer.submit(text, elder).result()
            single.append(time.perf_counter() - t)
        secs = [audio_seconds(renderer.path_for(t, elder)) for t in PROMPTS[:10]]
        print(f"single prompt, mandarin elder, {len(single)} prompts one by one: median "
              f"{statistics.median(single) * 1000:.1f} ms, max {max(single) * 1000:.1f} ms "
              f"(median audio {statistics.median(secs):.1f} s)")

        cold = renderer.render_many(items)
        print(f"menu set cold: {len(PROMPTS)} prompts x {len(DIALECTS)} dialects x {len(MODES)} "
              f"modes = {len(items)} items: rendered {cold.rendered}, skipped {cold.skipped} "
              f"(10 done above + sichuanese shares mandarin) in {cold.seconds:.2f} s "
              f"({cold.seconds / max(1, cold.rendered) * 1000:.1f} ms per rendered file)")
        warm = renderer.render_many(items)
        print(f"menu set warm: rendered {warm.rendered}, skipped {warm.skipped} "
              f"in {warm.seconds * 1000:.1f} ms")
        renderer.close()

        catalog = VoiceCatalog(Path(tmp) / "v2", profiles, workers=args.workers)
        t = time.perf_counter()
        frag = catalog.render_all([], modes=MODES)
        print(f"fragments ({len(fragment_texts())} texts x dialects x modes) cold: rendered "
              f"{frag.rendered}, skipped {frag.skipped} in {time.perf_counter() - t:.2f} s "
              "(includes pool start)")
        n = 10000
        t = time.perf_counter()
        for i in range(n):
            catalog.playables_for(["您前面还有", str(i % 100), "位"], "mandarin", "elder")
        print(f"playables_for 3 parts, all rendered: {(time.perf_counter() - t) / n * 1e6:.1f} "
              "us per call")
        for profile, cpm in catalog.measure_rates():
            print(f"rate {profile.dialect:10s} {profile.mode:12s} voice={profile.voice} "
                  f"rate={profile.rate:3d}: {cpm:6.1f} chars/min (target "
                  f"{profile.target_cpm[0]}-{profile.target_cpm[1]})")
        catalog.close()


if __name__ == "__main__":
    main()
