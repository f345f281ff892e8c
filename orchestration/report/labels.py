"""The report's words in English and Chinese (config report.language)."""

from __future__ import annotations

# key -> (English, Chinese)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("User operations daily report", "用户运营日报"),
    "as_of": ("Data up to", "数据截至"),
    "generated": ("generated", "生成于"),
    "empty": ("Nothing to show", "暂无数据"),
    # sections: title, then how to read it
    "checks": ("Failed checks and alerts", "未通过的检查与告警"),
    "checks_how": ("Checks of this run that did not pass; an ERROR stops the publish, a WARN "
                   "is worth a look.",
                   "本次运行未通过的检查；ERROR 会阻止发布，WARN 需要留意。"),
    "checks_ok": ("All {n} checks passed.", "全部 {n} 项检查通过。"),
    "held_back": ("Held back: this run published nothing. {serving} The tables below are "
                  "the warehouse's as this run left them, not published; the reasons are "
                  "the failed checks and steps first.",
                  "已暂缓发布：本次运行未发布任何数据。{serving} 以下图表为本次运行后仓库中的数据，"
                  "尚未发布；原因见最先列出的未通过检查与步骤。"),
    "held_back_serving": ("BI still reads the run published {when}.",
                          "BI 仍读取 {when} 发布的数据。"),
    "held_back_nothing": ("Nothing has been published yet.", "尚未发布过任何数据。"),
    "checks_none": ("No check results were recorded with this report.",
                    "本报告没有记录检查结果。"),
    "active": ("Active users", "活跃用户"),
    "active_how": ("DAU, WAU and MAU count distinct users active in the last 1, 7 and 30 days; "
                   "stickiness (DAU / MAU, right axis) is how many monthly users come daily.",
                   "DAU、WAU、MAU 分别为近 1、7、30 天的去重活跃用户；粘性（DAU/MAU，右轴）"
                   "表示月活中有多少人每天都来。"),
    "stickiness": ("stickiness", "粘性"),
    "sources": ("Where active users come from", "活跃用户来源"),
    "sources_how": ("Each day's active users: kept from the day before, new, silent users "
                    "woken (idle up to the churn standard) and churned users returned; the "
                    "line (right axis) is the stock of silent users. Below: users moving "
                    "up a tier minus users moving down.",
                    "每天的活跃用户：持续活跃、新增活跃、沉默唤醒（未超过流失标准）与流失回流；"
                    "折线（右轴）为沉默用户存量。下图：升层用户与降层用户。"),
    "kept": ("kept active", "持续活跃"),
    "woken": ("silent woken", "沉默唤醒"),
    "returned": ("churned returned", "流失回流"),
    "silent": ("silent users", "沉默用户"),
    "tier_up": ("moved up a tier", "升层"),
    "tier_down": ("moved down a tier", "降层"),
    "tiers": ("Engagement tiers", "活跃度分层"),
    "tiers_how": ("Users in each activity tier by day, from engaged visits in the last 28 days "
                  "(high, mid, low); raising users a tier is the lever.",
                  "每天各活跃层级的用户数（按近 28 天有效访问计：高、中、低）；"
                  "把用户提升一层是运营的抓手。"),
    "growth": ("Growth accounting", "增长核算"),
    "growth_how": ("Each week's active users split into new, retained and resurrected; churned "
                   "users below zero. Quick ratio = (new + resurrected) / churned: above 1 the "
                   "base grows.",
                   "每周活跃用户拆为新增、留存、回流，流失画在零线以下。快速比率 ="
                   "（新增 + 回流）/ 流失，大于 1 说明用户盘在增长。"),
    "quick_ratio": ("quick ratio", "快速比率"),
    "stage_verdict": ("Product stage (latest complete month)", "产品阶段（最近完整月）"),
    "retention": ("Retention triangle", "留存三角"),
    "retention_how": ("Rows are cohorts (users first active in that day, week or month), "
                      "columns the periods since; a cell is the share of the cohort active in "
                      "that period (on) or in it or any later one (on or after).",
                      "行是同期群（首次活跃于该日、周、月的用户），列是此后第几期；格子是该群在"
                      "这一期活跃的比例（当期），或这一期及以后任一期活跃的比例（当期及以后）。"),
    "on": ("on", "当期"),
    "on_or_after": ("on or after", "当期及以后"),
    "day": ("day", "日"),
    "week": ("week", "周"),
    "month": ("month", "月"),
    "lifecycle": ("Lifecycle stages", "生命周期阶段"),
    "lifecycle_how": ("Users in each lifecycle stage by day, and (right) who moved between "
                      "stages in the last 7 days.",
                      "每天各生命周期阶段的用户数；右图为近 7 天阶段之间的流转。"),
    "channels": ("Channel quality", "渠道质量"),
    "channels_how": ("Day-7 and day-30 retention of each channel's new users, with CAC and "
                     "payback in the hover; 'unstable' channels swing in daily new users.",
                     "各渠道新用户的 7 日、30 日留存，悬停可见获客成本与回本天数；"
                     "“不稳定”表示每日新增波动大。"),
    "funnel": ("AARRR funnel", "AARRR 漏斗"),
    "funnel_how": ("The latest complete signup month's users through acquisition, activation, "
                   "retention, revenue and referral.",
                   "最近完整注册月的用户依次经过获取、激活、留存、变现、推荐。"),
    "funnels": ("Funnels", "转化漏斗"),
    "funnels_how": ("Each configured funnel over its latest {days} entry days whose "
                    "conversion window has closed: users reaching each step in order; the "
                    "table compares the breakdown values' conversion from first to last step.",
                    "每个配置的漏斗在最近 {days} 个转化窗口已结束的进入日内："
                    "按顺序到达各步骤的用户数；表格比较各细分维度从首步到末步的转化率。"),
    "no_funnels": ("No funnel configured (funnels in userops.yaml), or none with a closed "
                   "window yet.",
                   "没有配置漏斗（userops.yaml 的 funnels），或还没有窗口已结束的进入日。"),
    "paths": ("Paths", "行为路径"),
    "paths_how": ("In the week of {week}: what users did next after each step of funnel "
                  "{funnel} within the same visit (the top events, the rest as 'other'), "
                  "and where the visit ended.",
                  "{week} 这一周：漏斗 {funnel} 每一步之后，同一访问内用户的下一个事件"
                  "（前几名，其余归为“其他”），以及访问在哪里结束。"),
    "paths_how_top": ("In the week of {week}: what users did next after the most frequent "
                      "events within the same visit, and where the visit ended.",
                      "{week} 这一周：最常见事件之后，同一访问内用户的下一个事件，"
                      "以及访问在哪里结束。"),
    "no_paths": ("No visits with events yet.", "还没有包含事件的访问。"),
    "other": ("other", "其他"),
    "breakdown": ("breakdown", "细分维度"),
    "step": ("step", "步骤"),
    "entered": ("entered", "进入"),
    "converted": ("converted", "完成"),
    "conversion": ("conversion", "转化率"),
    "segments": ("Segments", "用户分群"),
    "segments_how": ("Each configured segment against all users on the latest day: the share "
                     "active in the last 28 days, paying, and at high churn risk; then the "
                     "share of today's members active in the 7 days ending on each day of "
                     "the last weeks (their history, read backwards).",
                     "各配置的用户分群与全体用户对比（最新一天）：近 28 天活跃占比、付费占比、"
                     "高流失风险占比；以及今天的成员在最近几周每天的近 7 天活跃占比"
                     "（成员的历史，向回看）。"),
    "wau_rate": ("members active in 7 days", "近 7 天活跃的成员占比"),
    "no_segments": ("No segment configured (segments in userops.yaml).",
                    "没有配置用户分群（userops.yaml 的 segments）。"),
    "active_28d_rate": ("active in 28 days", "28 天内活跃"),
    "paying_rate": ("paying", "付费"),
    "high_risk_share": ("high churn risk", "高流失风险"),
    "revenue": ("Revenue", "收入"),
    "revenue_how": ("Net GMV per day (bars) and ARPU, revenue per active user (line, right "
                    "axis); below, the repeat-purchase rates by first-purchase month.",
                    "每日净 GMV（柱）与 ARPU（每活跃用户收入，线，右轴）；"
                    "下方为按首购月的复购率。"),
    "arpu": ("ARPU", "ARPU"),
    "gmv_net": ("net GMV", "净 GMV"),
    "repeat_short": ("repeat rate, short window", "复购率（短窗口）"),
    "repeat_long": ("repeat rate, long window", "复购率（长窗口）"),
    "no_orders": ("No orders landed, so there is no revenue to show.",
                  "没有订单数据，无收入可展示。"),
    "rfm": ("RFM segments", "RFM 分层"),
    "rfm_how": ("Paying users by RFM segment (bars) and the revenue each segment brought "
                "(line, right axis); the action per segment is in user_rfm.",
                "按 RFM 分层的付费用户数（柱）与各层贡献的收入（线，右轴）；"
                "每层的运营动作见 user_rfm。"),
    "no_rfm": ("No paying users yet: RFM segments need orders.",
               "尚无付费用户：RFM 分层需要订单数据。"),
    "churn": ("Churn risk and win-back", "流失风险与召回"),
    "churn_how": ("Users by churn probability, coloured by risk band; the table lists the top "
                  "of the win-back list (highest priority first).",
                  "按流失概率分布的用户，颜色为风险等级；表格为召回名单前列（优先级从高到低）。"),
    "no_churn": ("No churn scores: {why}", "暂无流失评分：{why}"),
    "users": ("users", "用户数"),
    "revenue_col": ("revenue", "收入"),
    "new": ("new", "新增"),
    "retained": ("retained", "留存"),
    "resurrected": ("resurrected", "回流"),
    "churned": ("churned", "流失"),
    "no_activity": ("No activity in the built days.", "所选日期内没有活跃数据。"),
    "no_growth": ("No complete week yet.", "还没有完整的一周。"),
    "no_cohorts": ("No cohorts yet.", "还没有同期群。"),
    "no_channels": ("No channel on the users (users.channel is empty).",
                    "用户没有渠道信息（users.channel 为空）。"),
    "no_funnel": ("No signup month yet.", "还没有注册月。"),
    "funnel_incomplete": ("No month is complete yet: this is the latest, still filling.",
                          "还没有完整的月份：这是最近一个月，数据仍在累积。"),
    "no_transitions": ("No stage changes in the last 7 days.", "近 7 天没有阶段变化。"),
    "rank": ("rank", "排名"),
    "user": ("user", "用户"),
    "risk_band": ("risk band", "风险等级"),
    "probability": ("churn probability", "流失概率"),
    "value": ("value", "价值"),
    "segment": ("segment", "分层"),
    "definition_changed": ("definition changed: {settings}", "口径变更：{settings}"),
    "loop": ("Did it work?", "行动效果（闭环）"),
    "loop_how": ("Each worklist action against its holdout: the users held out were not "
                 "contacted, so the difference in the share who came back within the window "
                 "is the action's effect (points, with its 95 % interval; Newcombe's method). "
                 "A verdict needs enough users in both groups.",
                 "每项行动与其对照组比较：对照组用户未被触达，窗口内回访比例之差即行动效果"
                 "（百分点，95% 置信区间，Newcombe 方法）。两组用户都足够多才给出结论。"),
    "no_loop": ("No contacts landed yet: export the worklist (userops export-actions), send "
                "it, and land what was done under contacts/.",
                "尚未落地触达记录：导出行动清单（userops export-actions），执行后把触达记录放入 "
                "contacts/。"),
    "action_key": ("action", "行动"),
    "treated": ("treated", "实验组"),
    "holdout": ("holdout", "对照组"),
    "return_uplift": ("return uplift (points)", "回访提升（百分点）"),
    "interval": ("95 % interval", "95% 区间"),
    "conversion_uplift": ("conversion uplift (points)", "转化提升（百分点）"),
    "verdict": ("verdict", "结论"),
    "severity": ("severity", "级别"),
    "check": ("check", "检查"),
    "table": ("table", "表"),
    "detail": ("detail", "详情"),
}


def text(key: str, language: str, **values: object) -> str:
    en, zh = TEXT[key]
    words = zh if language == "zh" else en
    return words.format(**values) if values else words
