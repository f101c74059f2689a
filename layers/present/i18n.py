"""The one catalogue of the interface's words: every Chinese/English string of the dashboard.

Text is looked up by key: ``t("projects", "en")`` → ``"Projects"``; placeholders are filled from
keyword arguments (``t("exited_by", "zh", year=2018)`` → ``"至2018年已出列"``). Values are
substituted into the catalogue's own string, so data never becomes a template.

Category labels (sectors, statuses, fund sources, causes of poverty) and metric names come from
the data dictionary in ``layers.schema`` in Chinese (ledgers are read and written in those
words); their English lives here (:func:`label`, :func:`metric_label`). Chinese-only labels of
display tables (:data:`HEADERS_ZH`, :data:`LEVEL_UNITS_ZH`, :data:`SCHEME_LABELS_ZH`) live here
too, so every word a user reads is in this module.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from layers import schema as S
from layers.settings import DATA_DIR

__all__ = [
    "HEADERS_ZH",
    "LANGS",
    "LEVEL_UNITS_ZH",
    "MISSING_FIXES",
    "SCHEME_LABELS_ZH",
    "TEXT",
    "UNCOVERED",
    "VOCABULARIES",
    "WORDS_FILE",
    "headers",
    "label",
    "labels",
    "metric_label",
    "stage_label",
    "t",
    "zone_label",
]

#: the interface languages, Chinese first (the default)
LANGS: tuple[str, ...] = ("zh", "en")

#: key → (Chinese, English); ``{name}`` placeholders are filled by :func:`t`
TEXT: dict[str, tuple[str, str]] = {
    # --- app, navigation and sidebar --------------------------------------------------------
    "app_title": ("脱贫攻坚精准指挥“一张图”", "Poverty alleviation OneMap"),
    "url_ignored": (
        "链接中的参数 {params} 无效或超出范围，已按默认值显示。",
        "The link's parameter(s) {params} are malformed or out of range; defaults are shown.",
    ),
    "unexpected_error": (
        "页面出错了，已记录在服务器日志中。请刷新页面或换一个视图；如反复出现，请联系管理员。",
        "This page failed; the error is logged on the server. Reload the page or choose another "
        "view; if it happens again, tell the administrator.",
    ),
    "overview": ("总览", "Overview"),
    "library": ("县级项目库", "County project library"),
    "roadmap": ("乡级路线图", "Township route map"),
    "village": ("村级施工图", "Village construction plan"),
    "zones": ("重点区域", "Priority zones"),
    "quality": ("数据质量", "Data quality"),
    "import_data": ("数据导入", "Data import"),
    "export": ("导出", "Export"),
    "region": ("区域", "Region"),
    "prefecture": ("州/市", "Prefecture"),
    "county": ("县/市/区", "County"),
    "township": ("乡/镇", "Township"),
    "village_level": ("行政村", "Village"),
    "all": ("全部", "All"),
    "province": ("云南省", "Yunnan"),
    "zone": ("重点区域", "Zone"),
    "sector": ("行业", "Sector"),
    "years": ("计划年度", "Plan years"),
    "status": ("项目状态", "Status"),
    "fund_source": ("资金来源", "Fund source"),
    "metric": ("地图指标", "Map metric"),
    "basemap": ("底图", "Basemap"),
    "language": ("语言 / Language", "语言 / Language"),
    "lang_zh": ("中文", "中文"),
    "lang_en": ("English", "English"),
    "show_zones": ("显示重点区域边界", "Show zone outlines"),
    "breaks_from": ("地图分级依据", "Map classes from"),
    "breaks_view": ("本视图的单元（不随筛选变化）", "Units on this map (ignore filters)"),
    "breaks_province": ("全省同级单元（固定）", "All units of the level in the province"),
    "breaks_filtered": ("随筛选变化", "Follow the filters"),
    "legend_breaks_view": ("分级：本图单元", "Classes: units on this map"),
    "legend_breaks_province": ("分级：全省同级", "Classes: province-wide"),
    "legend_breaks_filtered": ("分级：随筛选", "Classes: follow filters"),
    "all_equal": ("各单元相同：{value}", "All units equal: {value}"),
    "sector_key": ("项目点（按行业）", "Projects (by sector)"),
    "legend_toggle": ("图例", "Legend"),
    "filters": ("筛选", "Filters"),
    "basemap_none": ("无底图（离线）", "None (offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "basemap_tianditu": ("天地图", "Tianditu"),
    "basemap_amap": ("高德地图", "Amap (GCJ-02)"),
    "demo_banner": (
        "演示数据：本页显示的是程序生成的模拟数据，并非真实台账。",
        "Demo data: this page shows generated data, not a real ledger.",
    ),
    "building_demo": ("正在生成演示数据库（首次启动约需一分钟）……", "Building the demo store…"),
    "store_missing": ("未找到数据库：", "Store not found: "),
    # --- figures shared by the pages --------------------------------------------------------
    "projects": ("项目数", "Projects"),
    "completion": ("完工率", "Completion"),
    "coverage": ("覆盖率", "Coverage"),
    "coverage_of_poor": ("贫困人口覆盖率", "Coverage"),
    "funds_planned": ("计划资金", "Funds planned"),
    "funds_spent": ("已支出资金", "Funds spent"),
    "funds_paid": ("已支付资金", "Funds spent"),
    "funds_planned_spent": ("计划/已支出资金", "Funds planned / spent"),
    "six_fixes_complete": ("六定完整率", "Six fixes complete"),
    "poor_population": ("建档立卡贫困人口", "Registered poor population"),
    "poor_population_short": ("贫困人口", "Poor population"),
    "poor_households": ("建档立卡贫困户", "Poor households"),
    "covered_by_projects": ("项目覆盖贫困人口", "Covered by projects"),
    "plans": ("项目库/路线图/施工图", "Libraries / route maps / plans"),
    "no_data": ("该区域无数据", "No data for this region"),
    "no_data_short": ("无数据", "No data"),
    "click_hint": (
        "点击地图上的区域或表格中的一行选中它，再点“进入 … →”打开下一级。",
        "Click a region on the map (or a row of the table) to select it, then “Open … →”.",
    ),
    "drill_into": ("进入 {name} →", "Open {name} →"),
    "projects_layer": ("项目点", "Projects"),
    "name": ("名称", "Name"),
    "project": ("项目", "Project"),
    "project_name": ("项目名称", "Project"),
    "status_short": ("状态", "Status"),
    "responsible_unit": ("责任单位", "Responsible unit"),
    "year_label": ("{year}年", "{year}"),
    # --- widgets: basemap, unit pickers, downloads ------------------------------------------
    "tianditu_needs_token": (
        "天地图需要密钥：请设置环境变量 TIANDITU_TOKEN。已改用无底图（离线）。",
        "天地图 needs a key in $TIANDITU_TOKEN; showing no basemap (offline).",
    ),
    "tiles_unreachable": (
        "底图服务器无响应（内网或离线），已改用无底图。",
        "The basemap's tile server does not answer (offline?); showing no basemap.",
    ),
    "pick_county": ("选择县（市、区）", "Choose a county"),
    "pick_county_none": ("所选区域内没有县级项目库。", "No county project library in this region."),
    "pick_county_hint": (
        "也可在左侧边栏逐级选择州/市和县，或在总览地图上点击进入。",
        "Or pick prefecture and county in the sidebar, or click through the overview map.",
    ),
    "pick_township": ("选择乡（镇）", "Choose a township"),
    "pick_township_none": ("所选区域内没有乡级路线图。", "No township route map in this region."),
    "pick_township_hint": (
        "可输入名称搜索；也可在左侧边栏逐级选择州/市、县和乡镇。",
        "Type to search, or pick prefecture, county and township in the sidebar.",
    ),
    "pick_village": ("选择行政村", "Choose a village"),
    "pick_village_none": (
        "所选区域内没有村级施工图。",
        "No village construction plan in this region.",
    ),
    "pick_village_hint": (
        "可输入名称搜索；也可在左侧边栏逐级选择到行政村。",
        "Type to search, or pick down to the village in the sidebar.",
    ),
    "pick_too_many": (
        "数量较多：请先在左侧边栏选择州/市或县，再选择。",
        "Too many to list: pick a prefecture or county in the sidebar first.",
    ),
    "pick_choose": ("— 请选择 —", "— choose —"),
    "download_xlsx": ("下载 Excel（XLSX）", "Download Excel (XLSX)"),
    "download_csv": ("下载 CSV（UTF-8）", "Download CSV (UTF-8)"),
    "download_projects_xlsx": ("下载项目表（XLSX）", "Download projects (XLSX)"),
    # --- 总览 overview ------------------------------------------------------------------------
    "zone_incomplete": (
        "重点区域「{zone}」的县在本数据库中不全，地图显示整个区域。",
        "The store does not hold all counties of zone {zone}; showing the region.",
    ),
    "breaks_follow_filters": ("分级随筛选变化", "Breaks follow the filters"),
    "units_table": ("下级区域明细（按指标由低到高）", "Units (lowest first)"),
    "table_pick_hint": (
        "点选表格中的一行，地图上勾出它并缩放过去。",
        "Pick a row to outline it on the map and zoom to it.",
    ),
    "map_pick_hint": (
        "点击地图上的图形，表格中选中对应的行（移到最前）。",
        "Click a shape on the map to select its row in the table (moved to the top).",
    ),
    # --- 县级项目库 library -------------------------------------------------------------------
    "library_missing": ("没有县级项目库（无脱贫攻坚任务）。", "has no project library (no tasks)."),
    "tab_projects": ("项目清单", "Projects"),
    "tab_mix": ("行业与资金来源", "Sectors and fund sources"),
    "tab_towns": ("乡镇完工率与覆盖率", "Townships"),
    "tab_years": ("年度项目与资金", "By year"),
    "search_projects": ("搜索项目", "Search projects"),
    "search_placeholder": (
        "名称、编号、乡镇、村、责任单位…（空格分隔多个词）",
        "name, id, township, village, unit… (several words: all must match)",
    ),
    "search_count": ("共 {shown} 个项目（全县 {total} 个）", "{shown} of {total} projects"),
    # --- 乡级路线图 route map -----------------------------------------------------------------
    "roadmap_missing": ("没有乡级路线图。", "has no route map."),
    "roadmap_year": ("路线图年份（拖动或点 ▶ 逐年推进）", "Route-map year (drag, or ▶ to step)"),
    "next_year": ("▶ 下一年", "▶ Next year"),
    "project_done": ("已完工", "done"),
    "project_not_done_by_year": ("未完工（截至该年）", "not done (by that year)"),
    "planned_exit_year": ("计划出列年份", "Planned exit year"),
    "no_exit_planned": ("无出列任务", "No exit planned"),
    "legend_project_done": ("已完工项目（按行业着色）", "Project done (sector colour)"),
    "legend_project_not_done": ("未完工项目", "Project not done"),
    "villages_with_plans": ("有施工图的村", "Villages with plans"),
    "exited_by": ("至{year}年已出列", "Exited by {year}"),
    "due_by": ("至{year}年应出列", "Due by {year}"),
    "projects_done_by": ("至{year}年完工项目", "Projects done by {year}"),
    "planned_exit": ("计划出列", "Planned exit"),
    "exited": ("实际出列", "Exited"),
    "status_in_year": ("{year}年状态", "Status {year}"),
    "exit_status_exited": ("已出列", "exited"),
    "exit_status_due": ("应出列未出列", "due, not exited"),
    "exit_status_not_due": ("未到计划年份", "not yet due"),
    "exit_status_none": ("无出列任务", "no exit planned"),
    "roadmap_refilter_note": (
        "出列村数来自贫困人口登记；项目数按当前筛选重新统计。",
        "Village exits come from the registry; projects are recounted under the filter.",
    ),
    # --- 村级施工图 village plan --------------------------------------------------------------
    "village_missing": ("没有村级施工图。", "has no construction plan."),
    "project_sector": ("项目行业", "Project sector"),
    "not_applicable": ("不涉及", "n/a"),
    "not_yet_exited": ("未出列", "not yet"),
    "mean_elevation": ("平均海拔", "Mean elevation"),
    "mean_slope": ("平均坡度", "mean slope"),
    "village_projects_summary": (
        "**项目 {n} 个**：已完工/验收 {done} 个，六定有缺项 {gaps} 个（见「六定缺项」列）。",
        "**{n} projects**: {done} completed or accepted, "
        "{gaps} lack one of the six fixes (column Six fixes missing).",
    ),
    # --- 重点区域 zones -----------------------------------------------------------------------
    "zone_not_in_store": ("数据库中没有该区域。", "Not in the store."),
    "zone_card_caption": (
        "项目 {projects}个 · 计划资金 {planned} · 已支付 {spent} · 未覆盖贫困人口 {uncovered}人",
        "{projects} projects · planned {planned} · spent {spent} · "
        "{uncovered} poor people uncovered",
    ),
    "open_on_map": ("在地图上打开{name}", "Open {name} on the map"),
    "laggard_counties": ("落后县排名", "Laggard counties"),
    "in_zone": ("（{zone}）", "（{zone}）"),
    "in_province": ("（全省）", " (province)"),
    "show_top": ("显示前几名", "Show top"),
    "lowest_completion": ("完工率最低", "Lowest completion"),
    "most_uncovered": ("未覆盖贫困人口最多", "Most uncovered poor"),
    "zone_members_unknown": (
        "未找到区域成员（data/zones.toml 与库中区划不符），区域数字未按筛选重算。",
        "Zone members unknown (data/zones.toml does not match the store): "
        "zone figures ignore the filters.",
    ),
    "scoped_counts_note": (
        "本账户只能读取{region}的项目（数据库行级权限）：筛选后，{region}及其下级的数字准确，"
        "其他地区按项目统计的数字显示为“—”",
        "This account reads only the projects of {region} (row-level security in the "
        "database): under filters the figures of {region} and below are exact, other regions' "
        "project figures show —",
    ),
    "zones_caption": (
        "五大行动计划区域与全省对比",
        "The five action-plan zones against the province",
    ),
    # --- figures (layers.present.charts) ----------------------------------------------------
    "lowest_first": ("{label}（由低到高）", "{label} (lowest first)"),
    "chart_town_completion": ("各乡镇完工率（由低到高）", "Completion by township (lowest first)"),
    "chart_town_coverage": ("各乡镇覆盖率（由低到高）", "Coverage by township (lowest first)"),
    "chart_sectors": ("行业分布", "Sectors"),
    "chart_fund_sources": ("资金来源", "Fund sources"),
    "chart_statuses": ("项目状态", "Project status"),
    "chart_by_year": ("项目与资金（按计划年度）", "Projects and funds by plan year"),
    "chart_exits": ("出列村：计划与实际", "Village exits: planned and actual"),
    "chart_projects_planned_done": ("项目：计划与实际", "Projects: planned and completed"),
    "chart_causes": ("致贫原因（户）", "Main cause of poverty (households)"),
    "chart_exit_timeline": ("村出列进度（累计）", "Village exits (cumulative)"),
    "category": ("类别", "Category"),
    "projects_share": ("项目数（占比）", "Projects (share)"),
    "year": ("年度", "Year"),
    "funds_yuan": ("资金（元）", "Funds (yuan)"),
    "amount": ("金额", "Amount"),
    "count": ("数量", "Count"),
    "villages_planned_exit": ("计划出列村", "Villages due to exit"),
    "villages_actual_exit": ("实际出列村", "Villages exited"),
    "projects_planned": ("计划项目", "Projects planned"),
    "projects_completed": ("完工项目", "Projects completed"),
    "households_poor": ("贫困户数", "Poor households"),
    "cause": ("致贫原因", "Cause"),
    "households": ("户数", "Households"),
    "zone_group": ("区域", "Zone"),
    "metric_short": ("指标", "Metric"),
    "value": ("数值", "Value"),
    "whole_province": ("全省", "Province"),
    "share_exited": ("累计出列比例", "Share exited"),
    "exited_cumulative": ("累计出列", "Exited"),
    "not_given": ("未填", "Not given"),
    "count_share": ("{count}（{share}）", "{count} ({share})"),
    # --- units after numbers (English figures carry none but yuan) ----------------------------
    "unit_items": ("个", ""),
    "unit_households": ("户", ""),
    "unit_wan_yuan": ("万元", "10k yuan"),
    "unit_yi_yuan": ("亿元", "100M yuan"),
    "unit_million_yuan": ("百万元", "M yuan"),
    "unit_people": ("人", "people"),
    "unit_wan_people": ("万人", "10k people"),
    "registry_note": (
        "覆盖率、贫困人口和项目库/路线图/施工图来自建档立卡登记和规划文件，不随项目筛选变化。",
        "Coverage, poor population and libraries / route maps / plans come from the poverty "
        "registry and the plans; they do not follow the project filters.",
    ),
    # --- sign-in and regional permissions (views/auth.py, layers/access.py) -------------------
    "signin_title": ("登录", "Sign in"),
    "signin_intro": (
        "本系统已启用账户。请用管理员为您创建的账户登录。",
        "Accounts are enabled. Sign in with the account your administrator created.",
    ),
    "username": ("用户名", "用户名"),
    "password": ("密码", "密码"),
    "signin": ("登录", "登录"),
    "signout": ("退出", "退出"),
    "signin_failed": ("用户名或密码错误。", "Wrong user name or password."),
    "signin_missing": ("请输入用户名和密码。", "Enter a user name and a password."),
    "session_expired": (
        "登录已超时（{hours} 小时无操作），请重新登录。",
        "Your session expired after {hours} h without activity; sign in again.",
    ),
    "signed_in_as": ("当前用户：{name}（{role}{region}）", "Signed in: {name} ({role}{region})"),
    "single_user": ("单用户模式（仅本机）", "Single-user mode (this machine only)"),
    "no_accounts_remote": (
        "本服务监听在 {address}，但尚未创建任何账户，因此不显示数据。请先在服务器上创建第一个账户："
        "`onemap user add admin --role province`，然后重新打开本页。",
        "This server listens on {address} but has no account, so it shows no data. Create the "
        "first account on the server: `onemap user add admin --role province`, then reload.",
    ),
    "scope_refused": (
        "无权查看：您的账户（{scope}）只能查看本辖区的项目、村、乡镇和表格，"
        "不能查看 {region} 的明细。",
        "Not allowed: your account ({scope}) may see projects, villages, townships and tables "
        "only inside its region, not those of {region}.",
    ),
    "scope_narrowed": (
        "您的账户只能查看 {scope} 的明细，本页已显示 {scope}。",
        "Your account sees details of {scope} only; this page shows {scope}.",
    ),
    "scope_no_write": (
        "无权导入：只读账户不能修改数据。",
        "Not allowed: a read-only account cannot change data.",
    ),
    "scope_back": ("回到本辖区：{scope}", "Back to your region: {scope}"),
    "role_province": ("省级", "province"),
    "role_prefecture": ("州（市）级", "prefecture"),
    "role_county": ("县级", "county"),
    "role_viewer": ("只读", "viewer"),
}
#: the words of the data pages (quality, import, export) and of the report headers
WORDS_FILE = DATA_DIR / "words.toml"


def _read_words() -> dict[str, tuple[str, str]]:
    """The entries of :data:`WORDS_FILE` (``key = ["中文", "English"]``), none already in TEXT."""
    raw = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    both = sorted(set(raw) & set(TEXT))
    if both:
        raise KeyError(f"{WORDS_FILE.name} repeats keys of i18n.TEXT: {both}")
    return {k: (str(v[0]), str(v[1])) for k, v in raw.items()}


TEXT.update(_read_words())


def t(key: str, lang: str = "zh", /, **values: object) -> str:
    """The catalogue's text for ``key`` in ``lang``, its ``{placeholders}`` filled from ``values``.

    Parameters
    ----------
    key
        A key of :data:`TEXT`.
    lang
        ``"zh"`` (default) or ``"en"``; anything else reads as Chinese.
    **values
        Values of the text's placeholders (numbers, names: substituted, never parsed).

    Returns
    -------
    str
        The text, e.g. ``t("exited_by", "en", year=2018)`` → ``"Exited by 2018"``.
    """
    try:
        zh, en = TEXT[key]
    except KeyError:
        raise KeyError(f"`key` was {key!r} but is not in layers.present.i18n.TEXT") from None
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def stage_label(stage: str, lang: str = "zh") -> str:
    """A build stage in words (``units`` → ``生成乡镇和行政村``); an unknown stage as it is.

    Parameters
    ----------
    stage
        A stage a build reports (``layers.build.pipeline.DEMO_RUN_STAGES``, ``read``).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The stage's words for the first-start progress bar.
    """
    key = f"stage_{stage}"
    return t(key, lang) if key in TEXT else stage


#: category column → its Chinese labels in the data dictionary (code → label)
VOCABULARIES: dict[str, Mapping[str, str]] = {
    S.SECTOR: S.SECTOR_LABELS_ZH,
    S.STATUS: S.STATUS_LABELS_ZH,
    S.FUND_SOURCE: S.FUND_SOURCE_LABELS_ZH,
    "cause": S.CAUSE_LABELS_ZH,
}


def _english(code: str) -> str:
    """English label of a category code: ``"in_progress"`` → ``"In progress"``."""
    return code.replace("_", " ").capitalize()


def label(kind: str, code: str, lang: str = "zh") -> str:
    """Label of one category ``code`` of column ``kind`` (``sector``, ``status``, ...).

    Parameters
    ----------
    kind
        A key of :data:`VOCABULARIES`.
    code
        The stored code, e.g. ``"industry"``; an unknown code is returned as it is.
    lang
        ``"zh"`` (the data dictionary's word) or ``"en"``.

    Returns
    -------
    str
        ``label("sector", "industry")`` → ``"特色产业"``; in English ``"Industry"``.
    """
    zh = VOCABULARIES[kind]
    if code not in zh:
        return code
    return _english(code) if lang == "en" else zh[code]


def labels(kind: str, lang: str = "zh") -> dict[str, str]:
    """Every label of column ``kind`` in ``lang`` (code → label), for ``Series.map``.

    Parameters
    ----------
    kind
        A key of :data:`VOCABULARIES`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    dict of str to str
        Code → label, in the data dictionary's order.
    """
    return {code: label(kind, code, lang) for code in VOCABULARIES[kind]}


def metric_label(metric: str, lang: str = "zh") -> str:
    """Name of a map metric (``completion`` → ``完工率`` / ``Completion``).

    Parameters
    ----------
    metric
        One of ``layers.schema.METRICS``.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The metric's name; an unknown metric is returned as it is.
    """
    names = S.METRIC_LABELS_EN if lang == "en" else S.METRIC_LABELS_ZH
    return names.get(metric, metric)


# --- Chinese-only labels of display tables and printed maps ----------------------------------
#: derived display columns (not store columns): poor people no project covers, 六定 gaps
UNCOVERED = "uncovered_population"
MISSING_FIXES = "missing_six_fixes"
#: Chinese display headers for store columns (projects, summaries, registry)
HEADERS_ZH: dict[str, str] = {
    S.PROJECT_ID: "项目编号",
    S.PROJECT_NAME: "项目名称",
    S.COUNTY_CODE: "县/市/区",
    S.TOWNSHIP_CODE: "乡/镇",
    S.VILLAGE_CODE: "行政村",
    S.SECTOR: "行业",
    S.PLAN_YEAR: "计划年度",
    S.STATUS: "状态",
    S.START_DATE: "开工日期",
    S.COMPLETION_DATE: "完工日期",
    S.FUNDS_PLANNED: "计划资金(万元)",
    S.FUNDS_ALLOCATED: "到位资金(万元)",
    S.FUNDS_SPENT: "已支付资金(万元)",
    S.FUND_SOURCE: "资金来源",
    S.BENEFICIARY_HOUSEHOLDS: "受益户数",
    S.BENEFICIARY_POOR_POPULATION: "受益贫困人口",
    S.RESPONSIBLE_UNIT: "责任单位",
    S.APPROVAL_REF: "批复文号",
    S.PUBLIC_NOTICE_DATE: "公告日期",
    S.INSPECTION_RESULT: "验收结果",
    S.CODE: "区划代码",
    S.LEVEL: "级别",
    S.N_PROJECTS: "项目数",
    S.N_COMPLETED: "已完工项目",
    S.N_SIX_FIXES: "六定齐全项目",
    S.POOR_HOUSEHOLDS: "贫困户数",
    S.POOR_POPULATION: "贫困人口",
    S.COVERED_CAPPED: "覆盖贫困人口",
    S.POVERTY_VILLAGES: "贫困村",
    S.VILLAGES_EXITED: "已出列村",
    S.COMPLETION: "完工率(%)",
    S.COVERAGE: "覆盖率(%)",
    S.FUNDS_EXECUTION: "资金执行率(%)",
    S.SIX_FIXES_RATE: "六定完整率(%)",
    S.EXIT_PROGRESS: "出列进度(%)",
    S.MATCHED_REMEDY: "对症施策率(%)",
    S.ZONE: "区域",
    UNCOVERED: "未覆盖贫困人口",
    MISSING_FIXES: "六定缺项",
}
#: "each unit of a level" in map titles and captions
LEVEL_UNITS_ZH: dict[str, str] = {
    "prefecture": "各州（市）",
    "county": "各县（市、区）",
    "township": "各乡（镇）",
    "village": "各行政村",
}
#: names of the classification schemes of ``geo.classify``
SCHEME_LABELS_ZH: dict[str, str] = {
    "quantiles": "分位数",
    "natural_breaks": "自然断点",
    "fisher_jenks": "Fisher-Jenks 最优",
    "equal_interval": "等间距",
    "jenks_caspall": "Jenks-Caspall",
}


def headers(lang: str = "zh") -> dict[str, str]:
    """Display headers of store columns in ``lang`` (Chinese: :data:`HEADERS_ZH`).

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    dict of str to str
        Column → header, for ``DataFrame.rename``.
    """
    if lang != "en":
        return dict(HEADERS_ZH)
    return {c: TEXT[f"col_en_{c}"][1] for c in HEADERS_ZH if f"col_en_{c}" in TEXT}


def zone_label(name: str, names_en: Mapping[str, str], lang: str = "zh") -> str:
    """A zone's name in ``lang``: the Chinese name, or its ``name_en`` from ``data/zones.toml``.

    Parameters
    ----------
    name
        The zone's Chinese name (the store's key).
    names_en
        Chinese name → English name (``layers.build.zones.load_zones``).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The label; an unknown zone keeps its name.
    """
    return names_en.get(name, name) if lang == "en" else name
