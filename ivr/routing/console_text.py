"""Every word the agent console shows, in Chinese, from this one table.

The queue and the API keep their codes (``elder_direct``, ``no_input``...); the console shows the
words below. Menu transfer reasons and menu nodes take the option label an admin wrote in
config/menus.yaml, scam categories their label in config/scam.yaml, dialects their name in
config/ivr.yaml, so a new option needs no code change. An unknown code is shown as it is.
"""

from __future__ import annotations

from typing import Any

PRIORITY = {"scam": "诈骗风险", "elder": "长者", "normal": "普通"}
BADGES = {"elder": "长者", "callback": "回电"}
REASONS = {  # why the caller is with a person (reasons of the call flow)
    "caller_request": "来电者要求人工",
    "no_input": "未按键，直接转人工",
    "wrong_keys": "多次按错键",
    "elder_direct": "长者来电（号码识别），直接转人工",
    "elder_self": "来电者自选长者专线",
    "elder_line": "长者专线来电，未按键",
    "elder_any_key": "长者按键转人工",
    "scam_risk": "疑似诈骗，已播放防骗提醒",
    "failsafe": "系统故障，直接转人工",
    "recovered": "排队记录已恢复（原因未知）",
}
FLAGS = {"repeat_caller": "重复来电", "watch_list": "关注名单"}
STATUS = {
    "waiting": "排队中", "accepted": "已接听", "dequeued": "正在转接", "connecting": "正在接通",
    "ended": "通话结束", "calling_back": "正在回电", "callback_failed": "回电未接通",
}
DISPOSITIONS = {  # id (stored, API) -> label on the console
    "resolved": "已解决", "scam_stopped": "已劝阻诈骗", "transferred": "已转接",
    "follow_up": "需跟进", "no_answer": "未接通", "other": "其他",
}
ROOT_NODE = "主菜单"
PATH_TRANSFER = "转人工：{label}"
PATH_INFO = "听取信息（按{key}）"
NO_SCAM = "无"
SCAM_UNNAMED = "是"
ERRORS = {  # API errors (JSON ``error``; ``code`` keeps the English id for tools)
    "login_required": "请先登录（或提供坐席令牌）",
    "login_failed": "工号或密码错误",
    "login_throttled": "尝试次数过多，请稍后再试",
    "login_demo_password": "该密码为演示密码，已停用，请联系管理员重设",
    "bad_token": "令牌无效",
    "busy": "请先完成当前来电，再接听下一位",
    "unknown_disposition": "未知的处理结果",
    "no_current": "当前没有来电",
    "not_queued": "来电者尚未进入排队（还在听提示），已保留原位，请稍后再接。",
    "dispatch": "电话系统暂时不可用，来电者保留原来的排队位置，请稍后再试。",
    "store": "排队系统暂时不可用，请稍后再试。",
    "internal": "系统内部错误，请稍后再试。",
}
PAGE = {  # messages the page script shows
    "accepted": "已接听，正在转接来电",
    "none_waiting": "暂无可接听的来电",
    "finished": "已完成",
    "failed": "操作失败（{status}）",
    "offline": "连接中断，正在重试…",
    "sizes": "诈骗风险 {scam} · 长者 {elder} · 普通 {normal}",
    "minutes": "{m}分{s}秒",
}


def error(code: str) -> str:
    return ERRORS.get(code, code)


def _options(config: Any) -> list[Any]:
    menus = getattr(config, "menus", None)  # partial configs (tests, a reload) just give codes
    return [o for n in getattr(menus, "nodes", {}).values() for o in n.options]


def reason_label(code: str | None, config: Any) -> str:
    """A flow reason, else the label of the menu option that transfers with this reason."""
    if not code:
        return ""
    if code in REASONS:
        return REASONS[code]
    for opt in _options(config):
        if getattr(opt.action, "reason", None) == code:
            return _mandarin(opt.label, config)
    return code


def path_labels(path: list[str] | None, config: Any) -> list[str]:
    """Menu path codes (node ids, ``transfer:REASON``, ``info:KEY``) as the caller heard them."""
    out = []
    for step in path or []:
        kind, _, rest = str(step).partition(":")
        if kind == "transfer" and rest:
            out.append(PATH_TRANSFER.format(label=reason_label(rest, config)))
        elif kind == "info" and rest:
            out.append(PATH_INFO.format(key=rest))
        elif step == getattr(getattr(config, "menus", None), "root", None):
            out.append(ROOT_NODE)
        else:
            out.append(_node_label(str(step), config))
    return out


def _node_label(node_id: str, config: Any) -> str:
    for opt in _options(config):
        if getattr(opt.action, "node", None) == node_id:
            return _mandarin(opt.label, config)
    return node_id


def _dialects(config: Any) -> Any:
    return getattr(getattr(config, "service", None), "dialects", None)


def _mandarin(texts: dict[str, str], config: Any) -> str:
    default = getattr(_dialects(config), "default", "mandarin")
    return texts.get(default) or next(iter(texts.values()), "")


def labels(entry: dict[str, Any], config: Any) -> dict[str, Any]:
    """The words for one queue entry (``QueueEntry.public()``), added to it as ``labels``."""
    ctx = entry.get("context") or {}
    scam = ctx.get("scam") or None
    dialects = _dialects(config)
    dialect = ctx.get("dialect") or entry.get("skill") or getattr(dialects, "default", "mandarin")
    scam_config = getattr(config, "scam", None)
    badges = [PRIORITY.get(entry.get("priority", ""), entry.get("priority", ""))]
    if ctx.get("elder") and entry.get("priority") != "elder":
        badges.append(BADGES["elder"])
    if entry.get("callback"):
        badges.append(BADGES["callback"])
    category = scam.get("category") if isinstance(scam, dict) else None
    return {
        "priority": PRIORITY.get(entry.get("priority", ""), entry.get("priority", "")),
        "badges": badges,
        "reason": reason_label(ctx.get("reason"), config),
        "dialect": getattr(dialects, "known", {}).get(dialect, dialect),
        "path": path_labels(ctx.get("menu_path"), config),
        "flags": [FLAGS.get(f, f) for f in ctx.get("flags") or []],
        "status": STATUS.get(entry.get("status") or "", entry.get("status") or ""),
        "scam": ((scam_config.label(category) if scam_config else "") or category
                 if category else SCAM_UNNAMED) if scam else NO_SCAM,
    }


def page_text() -> dict[str, Any]:
    """What the page script needs from this table (put in the page as JSON)."""
    return {"page": PAGE, "priority": PRIORITY}
