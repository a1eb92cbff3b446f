"""The risk indicators: what each means, the rule or practice it comes from, its thresholds
(named here, valued in ``risk.toml``) and the query that finds its hits.

Each query runs on the engine's tables of verified facts (:mod:`.engine`) and returns one
row per hit: ``subject`` (what the hit is about: an invoice number, a payment, a period, a
trading ring), ``on_date``, ``amount`` (cents at stake), ``detail`` (a JSON object the
messages below are filled from; keys ending ``_cents`` are money, ``_share`` fractions),
``facts`` (the ids of the facts it rests on) and ``parties`` (the taxpayers it is scored
against, each with its role). Thresholds are the query's named parameters (``$window_days``);
amounts in yuan arrive in cents. ``$as_of`` (the date the analysis speaks for) and
``$max_facts`` are always given.

Every query is a join, a window or an aggregate over whole tables (DuckDB), never a loop
over rows: the same queries run unchanged on a larger engine (see docs/risk.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger_node.records.amounts import GENERAL_RATES, SMALL_SCALE_RATES

#: Units of thresholds; ``yuan`` values are passed to the queries in cents.
UNITS: Final = ("days", "yuan", "share", "ratio", "count", "seconds")

#: Groups of indicators, in the order the dashboard shows them: (code, 中文, English).
GROUPS: Final = (
    ("flows", "三流一致", "invoice, funds and seller agree"),
    ("cycles", "循环开票", "circular invoicing"),
    ("new", "新办企业", "new companies"),
    ("vanish", "走逃失联", "sellers that vanish"),
    ("red", "红字发票", "red invoices"),
    ("timing", "上链时间", "when facts were attested"),
    ("returns", "申报比对", "returns against invoices"),
    ("rates", "税率", "rates"),
    ("credit", "银税互动", "bank credit decisions"),
)


@dataclass(frozen=True)
class Param:
    """A threshold of an indicator: its key in ``risk.toml`` and its unit."""

    name: str
    unit: str


@dataclass(frozen=True)
class Indicator:
    """One risk indicator (see the module docstring for what its query returns)."""

    code: str
    name_zh: str
    name: str
    group: str
    #: The agencies whose facts it reads.
    agencies: tuple[str, ...]
    meaning: str
    source: str
    params: tuple[Param, ...]
    message: str
    message_zh: str
    sql: str


_TAX, _BANK, _MARKET = "tax-bureau", "bank", "market-regulator"

# In the queries: the tax statuses that void a seller's invoices are abnormal, absconded and
# deregistered; abnormal vouchers come from abnormal and absconded taxpayers (公告2019年第38号).

INDICATORS: Final[tuple[Indicator, ...]] = (
    # --- 三流一致 -------------------------------------------------------------------------
    Indicator(
        "flow_unpaid",
        "发票超期未付款",
        "invoice unpaid long after issue",
        "flows",
        (_TAX, _BANK),
        "An invoice to an identified buyer with no payment attested by any bank long after "
        "its issue: the fund flow is missing, so the buyer's input tax rests on an invoice "
        "nobody paid (a sign of 虚开, invoices without a sale).",
        "三流一致 (资金流与发票流一致): 国税发〔1995〕192号 第一条第（三）项 — input tax is "
        "deductible only if the payment goes from the buyer to the seller who issued the "
        "invoice; ageing as banks and auditors age receivables.",
        (Param("unpaid_after_days", "days"),),
        "invoice {subject} of {due} is unpaid {days} days after its issue",
        "发票 {subject}（应付 {due}）开具 {days} 天后仍无付款记录",
        """
        SELECT d.number AS subject, d.issued_on AS on_date, d.net AS amount,
          to_json(struct_pack(due_cents := d.net,
                              days := date_diff('day', d.issued_on, $as_of))) AS detail,
          [d.fact] AS facts,
          [party(d.seller, 'seller'), party(d.buyer, 'buyer')] AS parties
        FROM due d
        WHERE d.buyer_is_company AND d.paid_n = 0 AND d.net > 0
          AND d.issued_on < $as_of - $unpaid_after_days
        """,
    ),
    Indicator(
        "flow_amount_mismatch",
        "付款金额与发票不符",
        "payments differ from the invoice",
        "flows",
        (_TAX, _BANK),
        "The payments attested for an invoice add up to more or less than what is due on it "
        "(its total less the red invoices that reverse it), once the payment term is over.",
        "三流一致 (国税发〔1995〕192号); the amount due nets red invoices (国家税务总局公告"
        "2024年第11号 on red 数电 invoices).",
        (Param("settled_after_days", "days"), Param("tolerance", "yuan")),
        "invoice {subject}: {due} due, {paid} paid by {payments} payment(s)",
        "发票 {subject} 应付 {due}，{payments} 笔付款合计 {paid}",
        """
        SELECT d.number AS subject, d.issued_on AS on_date, abs(d.paid - d.net) AS amount,
          to_json(struct_pack(due_cents := d.net, paid_cents := d.paid,
                              payments := d.paid_n)) AS detail,
          list_slice([d.fact] || d.pay_facts || d.red_facts, 1, $max_facts) AS facts,
          [party(d.seller, 'seller'), party(d.buyer, 'buyer')] AS parties
        FROM due d
        WHERE d.buyer_is_company AND d.paid_n > 0 AND d.net >= 0
          AND abs(d.paid - d.net) > $tolerance
          AND d.issued_on < $as_of - $settled_after_days
        """,
    ),
    Indicator(
        "flow_payee_not_seller",
        "收款方不是销售方",
        "payment to someone other than the seller",
        "flows",
        (_TAX, _BANK),
        "A payment for an invoice went to a party other than the seller who issued it: the "
        "fund flow does not meet the invoice flow.",
        "三流一致: 国税发〔1995〕192号 第一条第（三）项 (payment to the issuing seller).",
        (),
        "payment {payment} for invoice {subject} went to {payee}, not to the seller",
        "发票 {subject} 的付款 {payment} 付给了 {payee}，而非销售方",
        """
        SELECT d.number AS subject, p.value_date AS on_date, s.amount AS amount,
          to_json(struct_pack(payment := p.payment_id, payee := p.payee,
                              payee_id_type := p.payee_id_type)) AS detail,
          [d.fact, p.fact] AS facts,
          list_filter([party(d.seller, 'seller'), party(d.buyer, 'buyer'),
                       CASE WHEN p.payee_is_company THEN party(p.payee, 'payee') END],
                      lambda x: x IS NOT NULL) AS parties
        FROM due d JOIN settlement s ON s.invoice_number = d.number
        JOIN payment p ON p.fact = s.fact
        WHERE p.payee IS DISTINCT FROM d.seller
        """,
    ),
    Indicator(
        "flow_payer_not_buyer",
        "付款方不是购买方",
        "payment from someone other than the buyer",
        "flows",
        (_TAX, _BANK),
        "A payment for an invoice came from a party other than its buyer: someone else paid "
        "for the goods the buyer deducts (代付), or the sale is not the buyer's.",
        "三流一致: 国税发〔1995〕192号 第一条第（三）项 (payment from the buyer).",
        (),
        "payment {payment} for invoice {subject} came from {payer}, not from the buyer",
        "发票 {subject} 的付款 {payment} 由 {payer} 支付，而非购买方",
        """
        SELECT d.number AS subject, p.value_date AS on_date, s.amount AS amount,
          to_json(struct_pack(payment := p.payment_id, payer := p.payer,
                              payer_id_type := p.payer_id_type)) AS detail,
          [d.fact, p.fact] AS facts,
          list_filter([party(d.seller, 'seller'),
                       CASE WHEN d.buyer_is_company THEN party(d.buyer, 'buyer') END,
                       CASE WHEN p.payer_is_company THEN party(p.payer, 'payer') END],
                      lambda x: x IS NOT NULL) AS parties
        FROM due d JOIN settlement s ON s.invoice_number = d.number
        JOIN payment p ON p.fact = s.fact
        WHERE d.buyer IS NOT NULL AND p.payer IS DISTINCT FROM d.buyer
        """,
    ),
    Indicator(
        "flow_seller_standing",
        "销售方开票时状态异常",
        "seller not in good standing at the invoice date",
        "flows",
        (_TAX, _MARKET),
        "When the invoice was issued, the seller had no registration, was not active, was on "
        "the abnormal-operations list (market regulation), or was an abnormal, absconded or "
        "deregistered taxpayer (tax bureau): its invoices put the buyer's input tax at risk.",
        "企业信息公示暂行条例 and 经营异常名录管理办法 (the abnormal-operations list); "
        "国家税务总局公告2019年第38号 (invoices of abnormal and absconded taxpayers).",
        (),
        "invoice {subject}: the seller {seller} was {standing} on {issued}",
        "发票 {subject} 开具时（{issued}）销售方 {seller} 状态为：{standing_zh}",
        """
        SELECT i.number AS subject, i.issued_on AS on_date, i.total AS amount,
          to_json(struct_pack(seller := i.seller, issued := i.issued_on,
            standing := CASE
              WHEN r.fact IS NULL THEN 'not registered'
              WHEN r.status <> 'active' THEN 'registration ' || r.status
              WHEN r.abnormal THEN 'on the abnormal-operations list'
              ELSE 'a tax ' || t.status || ' taxpayer' END,
            standing_zh := CASE
              WHEN r.fact IS NULL THEN '无登记'
              WHEN r.status <> 'active' THEN '登记状态 ' || r.status
              WHEN r.abnormal THEN '列入经营异常名录'
              ELSE '税务状态 ' || t.status END)) AS detail,
          list_filter([i.fact, r.fact, t.fact], lambda x: x IS NOT NULL) AS facts,
          list_filter([party(i.seller, 'seller'),
                       CASE WHEN i.buyer_is_company THEN party(i.buyer, 'buyer') END],
                      lambda x: x IS NOT NULL) AS parties
        FROM invoice i
        ASOF LEFT JOIN registration r ON r.uscc = i.seller AND i.issued_on >= r.as_of
        ASOF LEFT JOIN tax_status t ON t.uscc = i.seller AND i.issued_on >= t.since
        WHERE r.fact IS NULL OR r.status <> 'active' OR r.abnormal
          OR t.status IN ('abnormal', 'absconded', 'deregistered')
        """,
    ),
    Indicator(
        "funds_returned",
        "资金回流",
        "funds flowing back",
        "flows",
        (_BANK,),
        "Soon after a payer paid a payee, the payee paid most of it back (at least the "
        "configured share, at most all of it): the fund flow of the sale is undone (资金回流), "
        "the classic trail of invoices sold without a sale.",
        "国家税务总局 虚开增值税专用发票 case practice (资金回流 as a mark of 虚开); "
        "三流一致 (国税发〔1995〕192号).",
        (Param("window_days", "days"), Param("min_share", "share")),
        "{payee} paid {back} back to {payer} {days} days after receiving {paid} "
        "(payment {subject})",
        "{payee} 收到 {paid}（付款 {subject}）{days} 天后向 {payer} 回流 {back}",
        """
        SELECT p1.payment_id AS subject, p2.value_date AS on_date, p2.amount AS amount,
          to_json(struct_pack(payer := p1.payer, payee := p1.payee, paid_cents := p1.amount,
                              back_cents := p2.amount,
                              days := date_diff('day', p1.value_date, p2.value_date))) AS detail,
          [p1.fact, p2.fact] AS facts,
          [party(p1.payer, 'payer'), party(p1.payee, 'payee')] AS parties
        FROM payment p1 JOIN payment p2
          ON p2.payer = p1.payee AND p2.payee = p1.payer
         AND p2.value_date BETWEEN p1.value_date AND p1.value_date + $window_days
        WHERE p1.payer_is_company AND p1.payee_is_company AND p1.fact <> p2.fact
          AND p2.amount BETWEEN $min_share * p1.amount AND p1.amount
        """,
    ),
    # --- 循环开票 -------------------------------------------------------------------------
    Indicator(
        "circular_invoicing",
        "循环开票",
        "circular invoicing",
        "cycles",
        (_TAX,),
        "Companies that invoice each other around a ring (A to B, B to C, ..., back to A) "
        "within a short time for similar amounts: goods that go round in a circle create "
        "turnover and input tax but no sale (对开、环开).",
        "国家税务总局 风险管理 practice on 对开/环开发票; 金税四期 invoice-flow network "
        "analysis. Honest supply chains flow one way (raw material to retail).",
        (
            Param("max_length", "count"),
            Param("window_days", "days"),
            Param("amount_tolerance", "share"),
        ),
        "ring {subject}: {length} companies invoiced each other {total} within {span} days",
        "循环开票 {subject}：{length} 家企业在 {span} 天内互开发票合计 {total}",
        # The ring query is built for the configured length (see engine.ring_sql).
        "",
    ),
    # --- 新办企业 -------------------------------------------------------------------------
    Indicator(
        "new_company_spike",
        "新办企业开票激增",
        "new company invoicing far above its peers",
        "new",
        (_TAX, _MARKET),
        "A company registered during the period invoiced, in its first days, far more than "
        "the established companies of its industry over as many days, and far more than it "
        "invoiced right after: a shell that invoices and stops (新办企业短期内大额开票).",
        "国家税务总局 新办纳税人 风险防控 (空壳企业, 虚开 by new companies); 金税四期 "
        "peer comparison by industry.",
        (
            Param("window_days", "days"),
            Param("peer_ratio", "ratio"),
            Param("own_ratio", "ratio"),
            Param("min_amount", "yuan"),
            Param("min_invoices", "count"),
            Param("min_peers", "count"),
        ),
        "registered {subject_day}, invoiced {first} in its first {days} days: {peer_times}x "
        "the industry's 90th percentile ({peer}), then {next}",
        "{subject_day} 登记，前 {days} 天开票 {first}，为同行业第90百分位（{peer}）的 "
        "{peer_times} 倍，其后 {next}",
        """
        WITH bounds AS (SELECT min(i.issued_on) AS first_day, max(i.issued_on) AS last_day
                        FROM invoice i JOIN dated d ON d.fact = i.fact WHERE NOT d.predated),
        reg AS (SELECT uscc, min(as_of) AS registered_on, arg_min(fact, as_of) AS reg_fact
                FROM registration WHERE status = 'active' GROUP BY uscc),
        sold AS (SELECT seller AS uscc, issued_on, total, fact FROM invoice
                 WHERE red_of IS NULL),
        est AS (
          SELECT s.uscc,
            sum(s.total) * $window_days
              / (date_diff('day', b.first_day, b.last_day) + 1) AS norm
          FROM sold s CROSS JOIN bounds b LEFT JOIN reg r ON r.uscc = s.uscc
          WHERE coalesce(r.registered_on, b.first_day) <= b.first_day
          GROUP BY s.uscc, b.first_day, b.last_day),
        peers AS (SELECT i.industry, quantile_cont(e.norm, 0.9) AS p90, count(*) AS n
                  FROM est e JOIN industry i ON i.uscc = e.uscc GROUP BY i.industry),
        firsts AS (
          SELECT r.uscc, r.registered_on, r.reg_fact,
            coalesce(sum(s.total) FILTER (s.issued_on < r.registered_on + $window_days), 0)
              AS first_total,
            coalesce(sum(s.total) FILTER (s.issued_on >= r.registered_on + $window_days
              AND s.issued_on < r.registered_on + 2 * $window_days), 0) AS next_total,
            list(s.fact ORDER BY s.issued_on)
              FILTER (s.issued_on < r.registered_on + $window_days) AS first_facts,
            count(*) FILTER (s.issued_on < r.registered_on + $window_days) AS first_count,
            least(date_diff('day', r.registered_on + $window_days, any_value(b.last_day)) + 1,
                  $window_days) AS next_days
          FROM reg r CROSS JOIN bounds b JOIN sold s ON s.uscc = r.uscc
          WHERE r.registered_on > b.first_day
            AND r.registered_on + $window_days - 1 <= b.last_day
          GROUP BY r.uscc, r.registered_on, r.reg_fact)
        SELECT f.uscc AS subject, f.registered_on AS on_date, f.first_total AS amount,
          to_json(struct_pack(subject_day := f.registered_on, days := $window_days,
            first_cents := f.first_total, peer_cents := CAST(p.p90 AS BIGINT),
            peer_times := round(f.first_total / p.p90, 1),
            next_cents := f.next_total)) AS detail,
          list_slice([f.reg_fact] || f.first_facts, 1, $max_facts) AS facts,
          [party(f.uscc, 'seller')] AS parties
        FROM firsts f JOIN industry i ON i.uscc = f.uscc JOIN peers p ON p.industry = i.industry
        WHERE p.n >= $min_peers AND f.first_total >= $min_amount
          AND f.first_count >= $min_invoices
          AND f.first_total >= $peer_ratio * p.p90
          AND (f.next_days <= 0
               OR f.first_total >= $own_ratio * f.next_total * $window_days / f.next_days)
        """,
    ),
    # --- 走逃失联 -------------------------------------------------------------------------
    Indicator(
        "seller_vanished",
        "大额开票后走逃失联",
        "seller vanished after issuing large invoices",
        "vanish",
        (_TAX, _MARKET),
        "A seller became abnormal, absconded or deregistered at the tax bureau, or was "
        "listed abnormal, revoked or cancelled by market regulation, soon after issuing "
        "invoices far larger than it used to: the 走逃（失联）pattern of invoice sellers.",
        "国家税务总局公告2016年第76号 (invoices of 走逃（失联）企业) and 公告2019年第38号 "
        "(异常凭证).",
        (
            Param("window_days", "days"),
            Param("min_amount", "yuan"),
            Param("own_ratio", "ratio"),
        ),
        "{what} on {subject_day} after invoicing {recent} in the {days} days before "
        "(its usual: {usual})",
        "{subject_day} {what_zh}，此前 {days} 天开票 {recent}（平时同期约 {usual}）",
        """
        WITH events AS (
          SELECT uscc, since AS day, fact, 'tax status ' || status AS what,
                 '税务状态变为 ' || status AS what_zh
          FROM tax_status WHERE status IN ('abnormal', 'absconded', 'deregistered')
          UNION ALL
          SELECT uscc, as_of, fact,
            CASE WHEN abnormal THEN 'listed abnormal' ELSE 'registration ' || status END,
            CASE WHEN abnormal THEN '列入经营异常名录' ELSE '登记状态变为 ' || status END
          FROM registration WHERE abnormal OR status IN ('revoked', 'cancelled')),
        first_event AS (
          SELECT uscc, min(day) AS day, arg_min(fact, day) AS fact, arg_min(what, day) AS what,
                 arg_min(what_zh, day) AS what_zh
          FROM events GROUP BY uscc),
        sums AS (
          SELECT e.uscc, e.day, e.fact, e.what, e.what_zh,
            coalesce(sum(i.total) FILTER (i.issued_on > e.day - $window_days
                                          AND i.issued_on <= e.day), 0) AS recent,
            coalesce(sum(i.total) FILTER (i.issued_on <= e.day - $window_days), 0) AS before,
            date_diff('day', min(i.issued_on), e.day - $window_days) AS before_days,
            list(i.fact ORDER BY i.issued_on DESC)
              FILTER (i.issued_on > e.day - $window_days AND i.issued_on <= e.day) AS facts
          FROM first_event e JOIN invoice i ON i.seller = e.uscc AND i.red_of IS NULL
          GROUP BY e.uscc, e.day, e.fact, e.what, e.what_zh)
        SELECT uscc AS subject, day AS on_date, recent AS amount,
          to_json(struct_pack(subject_day := day, what := what, what_zh := what_zh,
            days := $window_days, recent_cents := recent,
            usual_cents := CAST(CASE WHEN before_days > 0
              THEN before * $window_days / before_days ELSE 0 END AS BIGINT))) AS detail,
          list_slice([fact] || coalesce(facts, []), 1, $max_facts) AS facts,
          [party(uscc, 'seller')] AS parties
        FROM sums
        WHERE recent >= $min_amount
          AND (before_days <= 0 OR recent >= $own_ratio * before * $window_days / before_days)
        """,
    ),
    Indicator(
        "abnormal_voucher_input",
        "取得异常凭证进项",
        "input tax on abnormal vouchers",
        "vanish",
        (_TAX,),
        "A buyer holds special invoices that the tax bureau lists as abnormal vouchers of a "
        "seller that became abnormal or absconded: the input tax deducted on them is at risk "
        "of reversal (进项转出).",
        "国家税务总局公告2019年第38号 第一条、第二条 (异常凭证: input tax not deductible, "
        "deducted input tax transferred out).",
        (),
        "{invoices} special invoice(s) from {seller}, {what} since {subject_day}, are abnormal "
        "vouchers: input tax {input} at risk",
        "取得 {seller}（{subject_day} 起{what_zh}）的 {invoices} 张专票已列为异常凭证，进项税额 "
        "{input} 存在转出风险",
        """
        WITH held AS (
          SELECT i.buyer, i.seller, t.since AS day, t.fact AS status_fact, t.status, i.fact,
                 i.total_tax, i.issued_on
          FROM voucher v JOIN tax_status t ON t.fact = v.fact
          JOIN invoice i ON i.seller = v.uscc AND i.number = v.invoice_key
          WHERE t.status IN ('abnormal', 'absconded') AND i.invoice_type = 'special'
            AND i.buyer_is_company)
        SELECT seller AS subject, min(day) AS on_date, sum(total_tax) AS amount,
          to_json(struct_pack(seller := seller, subject_day := min(day),
            what := 'tax status ' || any_value(status),
            what_zh := '税务状态 ' || any_value(status),
            invoices := count(*), input_cents := sum(total_tax))) AS detail,
          list_slice([any_value(status_fact)] || list(fact ORDER BY issued_on), 1, $max_facts)
            AS facts,
          [party(buyer, 'buyer')] AS parties
        FROM held GROUP BY buyer, seller
        """,
    ),
    # --- 红字发票 -------------------------------------------------------------------------
    Indicator(
        "red_without_blue",
        "红字发票无对应蓝字发票",
        "red invoice with no blue invoice",
        "red",
        (_TAX,),
        "A red (corrective) invoice reverses a 数电 invoice that is not among the facts: "
        "output tax reduced against a sale never attested. (A pre-digital blue invoice, by "
        "code and number, is not looked for.)",
        "国家税务总局公告2024年第11号 (数电 invoices): a red invoice is issued against a "
        "红字发票信息确认单 for a blue invoice issued before.",
        (),
        "red invoice {subject} reverses {blue}, which no fact attests",
        "红字发票 {subject} 冲销的蓝字发票 {blue} 不在已核验的事实中",
        """
        SELECT r.number AS subject, r.issued_on AS on_date, -r.total AS amount,
          to_json(struct_pack(blue := r.red_of)) AS detail, [r.fact] AS facts,
          [party(r.seller, 'seller')] AS parties
        FROM invoice r LEFT JOIN invoice b ON b.number = r.red_of
        WHERE r.red_of IS NOT NULL AND NOT r.red_of_pre_digital AND b.fact IS NULL
        """,
    ),
    Indicator(
        "red_exceeds_blue",
        "红字金额超过蓝字发票",
        "red invoices exceed their blue invoice",
        "red",
        (_TAX,),
        "The red invoices against a blue invoice (same seller and buyer) reverse more than "
        "its total: more output tax taken back than was ever declared on it.",
        "Red-letter rules (国家税务总局公告2024年第11号): a red invoice reverses all or part "
        "of its blue invoice, never more.",
        (),
        "red invoices reverse {reversed} of invoice {subject}, which totals {total}",
        "红字发票冲销 {reversed}，超过蓝字发票 {subject} 的价税合计 {total}",
        """
        SELECT d.number AS subject, d.issued_on AS on_date, -d.net AS amount,
          to_json(struct_pack(total_cents := d.total,
                              reversed_cents := d.total - d.net)) AS detail,
          list_slice([d.fact] || d.red_facts, 1, $max_facts) AS facts,
          [party(d.seller, 'seller')] AS parties
        FROM due d WHERE d.net < 0
        """,
    ),
    Indicator(
        "red_other_parties",
        "红字发票购销方与蓝字不一致",
        "red invoice with other parties than its blue",
        "red",
        (_TAX,),
        "A red invoice names a seller or a buyer other than its blue invoice's: a reversal "
        "of someone else's sale. It does not net against the blue invoice.",
        "Red-letter rules (国家税务总局公告2024年第11号): the red invoice carries the blue "
        "invoice's parties.",
        (),
        "red invoice {subject} reverses {blue} of {blue_seller} to {blue_buyer} but names "
        "{red_seller} to {red_buyer}",
        "红字发票 {subject} 冲销 {blue}（{blue_seller} → {blue_buyer}），却载明 "
        "{red_seller} → {red_buyer}",
        """
        SELECT r.number AS subject, r.issued_on AS on_date, -r.total AS amount,
          to_json(struct_pack(blue := b.number, blue_seller := b.seller,
            blue_buyer := b.buyer_key, red_seller := r.seller,
            red_buyer := r.buyer_key)) AS detail,
          [r.fact, b.fact] AS facts,
          [party(r.seller, 'seller')] AS parties
        FROM invoice r JOIN invoice b ON b.number = r.red_of
        WHERE r.seller IS DISTINCT FROM b.seller OR r.buyer_key IS DISTINCT FROM b.buyer_key
        """,
    ),
    Indicator(
        "red_share_high",
        "红冲比例远高于同行",
        "red share far above the industry's",
        "red",
        (_TAX,),
        "A seller's red invoices reverse a share of its sales far above its industry's: "
        "returns on paper that lower its output tax.",
        "国家税务总局 发票风险 indicators (红字发票开具比例异常); peer comparison by industry.",
        (
            Param("min_share", "share"),
            Param("peer_ratio", "ratio"),
            Param("min_reds", "count"),
        ),
        "{reds} red invoices reverse {red} of {blue} sold ({red_share}; industry median "
        "{peer_share})",
        "{reds} 张红字发票冲销 {red}，占销售额 {blue} 的 {red_share}（行业中位数 {peer_share}）",
        """
        WITH s AS (
          SELECT seller,
            sum(total) FILTER (red_of IS NULL) AS blue_total,
            coalesce(-sum(total) FILTER (red_of IS NOT NULL), 0) AS red_total,
            count(*) FILTER (red_of IS NOT NULL) AS reds,
            max(issued_on) FILTER (red_of IS NOT NULL) AS last_red,
            list(fact ORDER BY issued_on) FILTER (red_of IS NOT NULL) AS facts
          FROM invoice GROUP BY seller),
        x AS (
          SELECT s.*, s.red_total / s.blue_total AS share,
            median(s.red_total / s.blue_total) OVER (PARTITION BY i.industry) AS peer
          FROM s JOIN industry i ON i.uscc = s.seller WHERE s.blue_total > 0)
        SELECT seller AS subject, last_red AS on_date, red_total AS amount,
          to_json(struct_pack(reds := reds, red_cents := red_total, blue_cents := blue_total,
                              red_share := share, peer_share := peer)) AS detail,
          list_slice(facts, 1, $max_facts) AS facts, [party(seller, 'seller')] AS parties
        FROM x
        WHERE reds >= $min_reds AND share >= $min_share AND share >= $peer_ratio * peer
        """,
    ),
    # --- 上链时间 -------------------------------------------------------------------------
    Indicator(
        "dated_after_anchoring",
        "事实日期晚于上链时间",
        "fact dated after the block that anchors it",
        "timing",
        (_TAX, _BANK, _MARKET),
        "A fact dated after the block that anchored it: the agency attested it before it "
        "happened (a fact made up in advance, or a system clock that is wrong).",
        "The ledger's time is the block's (consensus) time; gateways accept a fact only up "
        "to five minutes ahead of their own clock.",
        (Param("tolerance_seconds", "seconds"),),
        "{label} is dated {dated}, after its block {block} of {anchored}",
        "{label} 的日期 {dated} 晚于其上链区块 {block} 的时间 {anchored}",
        """
        SELECT x.label AS subject, d.fact_day AS on_date, 0 AS amount,
          to_json(struct_pack(label := x.label, dated := x.dated, block := d.block_number,
            anchored := strftime(to_timestamp(d.block_time), '%Y-%m-%dT%H:%M:%SZ')))
            AS detail,
          [d.fact] AS facts, x.parties
        FROM dated d JOIN described x ON x.fact = d.fact WHERE d.predated
        """,
    ),
    Indicator(
        "dated_long_before_anchoring",
        "事实补记（日期远早于上链）",
        "fact dated long before it was attested",
        "timing",
        (_TAX, _BANK, _MARKET),
        "A fact dated long before the facts of its kind its agency had attested in earlier "
        "blocks: it was slipped in late (a payment recorded afterwards to cover an unpaid "
        "invoice, a backdated status). On a ledger that attests facts as they happen this is "
        "a fact dated long before its block; where history is loaded in date order, it still "
        "tells the fact that came late.",
        "数电 invoices and bank payments are recorded when they happen; 税收征管法 第十九条 "
        "(accounts kept on lawful, valid vouchers).",
        (Param("late_after_days", "days"),),
        "{label} is dated {dated}, {lag} days before the {frontier} its agency had reached",
        "{label} 日期为 {dated}，比该机构此前已上链的同类事实（至 {frontier}）早 {lag} 天",
        """
        WITH ok AS (SELECT * FROM dated WHERE NOT predated),
        -- The frontier of a block: the latest date its agency reached in earlier blocks (one
        -- row per block, so "earlier rows" are "earlier blocks").
        tops AS (SELECT agency, schema, block_number, max(fact_day) AS top
                 FROM ok GROUP BY agency, schema, block_number),
        frontier AS (
          SELECT agency, schema, block_number,
            max(top) OVER (PARTITION BY agency, schema ORDER BY block_number
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS frontier
          FROM tops),
        late AS (
          SELECT d.fact, d.fact_day, f.frontier
          FROM ok d JOIN frontier f
            ON f.agency = d.agency AND f.schema = d.schema AND f.block_number = d.block_number
          WHERE date_diff('day', d.fact_day, f.frontier) > $late_after_days)
        SELECT x.label AS subject, l.fact_day AS on_date, 0 AS amount,
          to_json(struct_pack(label := x.label, dated := x.dated, frontier := l.frontier,
            lag := date_diff('day', l.fact_day, l.frontier))) AS detail,
          [l.fact] AS facts, x.parties
        FROM late l JOIN described x ON x.fact = l.fact
        """,
    ),
    # --- 申报比对 -------------------------------------------------------------------------
    Indicator(
        "sales_above_declared",
        "开票收入大于申报收入",
        "invoiced sales above declared sales",
        "returns",
        (_TAX,),
        "A taxpayer invoiced more sales (before tax, red invoices netting) in a period than "
        "its VAT return declares, or filed no return for a period most taxpayers of its type "
        "filed: sales kept out of the return.",
        "增值税暂行条例 第十九条、第二十三条 (when sales are taxed, filing periods); the tax "
        "bureau's comparison of invoices with returns (票表比对).",
        (
            Param("tolerance", "yuan"),
            Param("tolerance_share", "share"),
            Param("peer_filing_share", "share"),
        ),
        "{subject}: invoiced {invoiced}, declared {declared}",
        "{subject}：开票销售额 {invoiced}，申报销售额 {declared}",
        """
        WITH styles AS (
          SELECT uscc, bool_or(contains(period, 'Q')) AS quarterly,
                 any_value(taxpayer_type) AS taxpayer_type
          FROM declaration GROUP BY uscc),
        sold AS (
          SELECT i.seller AS uscc, i.fact, i.issued_on, i.total_amount,
            coalesce(st.taxpayer_type, i.seller_type, 'general') AS taxpayer_type,
            CASE WHEN coalesce(st.quarterly, i.seller_type = 'small_scale', false)
              THEN year(i.issued_on) || '-Q' || quarter(i.issued_on)
              ELSE strftime(i.issued_on, '%Y-%m') END AS period
          FROM invoice i LEFT JOIN styles st ON st.uscc = i.seller),
        periods AS (
          SELECT uscc, period, any_value(taxpayer_type) AS taxpayer_type,
            sum(total_amount) AS invoiced, list(fact ORDER BY issued_on) AS facts,
            max(issued_on) AS last_sale
          FROM sold GROUP BY uscc, period),
        filers AS (SELECT taxpayer_type, count(DISTINCT uscc) AS n FROM declaration
                   GROUP BY taxpayer_type),
        filed AS (SELECT taxpayer_type, period, count(DISTINCT uscc) AS n, max(last_day) AS last
                  FROM declaration GROUP BY taxpayer_type, period)
        SELECT d.uscc || ' ' || d.period AS subject, d.last_day AS on_date,
          p.invoiced - d.sales AS amount,
          to_json(struct_pack(invoiced_cents := p.invoiced, declared_cents := d.sales)) AS detail,
          list_slice([d.fact] || p.facts, 1, $max_facts) AS facts,
          [party(d.uscc, 'seller')] AS parties
        FROM declaration d JOIN periods p ON p.uscc = d.uscc AND p.period = d.period
        WHERE p.invoiced - d.sales > greatest($tolerance, $tolerance_share * p.invoiced)
        UNION ALL
        SELECT p.uscc || ' ' || p.period, f.last, p.invoiced,
          to_json(struct_pack(invoiced_cents := p.invoiced, declared_cents := 0)),
          list_slice(p.facts, 1, $max_facts), [party(p.uscc, 'seller')]
        FROM periods p
        JOIN filed f ON f.taxpayer_type = p.taxpayer_type AND f.period = p.period
        JOIN filers n ON n.taxpayer_type = p.taxpayer_type
        LEFT JOIN declaration d ON d.uscc = p.uscc AND d.period = p.period
        WHERE d.fact IS NULL AND f.n >= $peer_filing_share * n.n AND f.last + 15 < $as_of
          AND p.invoiced > greatest($tolerance, $tolerance_share * p.invoiced)
        """,
    ),
    Indicator(
        "input_above_received",
        "抵扣进项大于取得专票税额",
        "input tax claimed above the input invoices received",
        "returns",
        (_TAX,),
        "Since its first return, a general taxpayer has claimed more input tax than the "
        "special invoices it received carry, judged at a return that claims input: "
        "deductions without invoices (虚抵进项).",
        "增值税暂行条例 第八条、第九条 (input tax is deductible only on a special invoice "
        "received); 金税 进项比对.",
        (Param("tolerance", "yuan"), Param("tolerance_share", "share")),
        "by {subject}: claimed {claimed} of input tax, received special invoices carrying "
        "{received}",
        "截至 {subject}：累计抵扣进项税额 {claimed}，取得专票税额合计 {received}",
        """
        WITH d AS (SELECT * FROM declaration WHERE taxpayer_type = 'general'),
        got AS (
          SELECT d.fact, coalesce(sum(i.total_tax), 0) AS received
          FROM d LEFT JOIN invoice i ON i.buyer = d.uscc AND i.invoice_type = 'special'
            AND i.issued_on BETWEEN d.first_day AND d.last_day
          GROUP BY d.fact),
        cum AS (
          SELECT d.uscc, d.period, d.last_day, d.fact, d.input_tax,
            sum(d.input_tax) OVER w AS claimed, sum(g.received) OVER w AS received,
            list(d.fact) OVER w AS facts
          FROM d JOIN got g ON g.fact = d.fact
          WINDOW w AS (PARTITION BY d.uscc ORDER BY d.first_day
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)),
        -- Judged at returns that claim input: a red special invoice received lowers the
        -- input of the next return that has any, not the return of its own period.
        worst AS (
          SELECT *, claimed - received AS excess FROM cum WHERE input_tax > 0
          QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY claimed - received DESC,
                                     last_day) = 1)
        SELECT uscc || ' ' || period AS subject, last_day AS on_date, excess AS amount,
          to_json(struct_pack(claimed_cents := claimed, received_cents := received)) AS detail,
          list_slice(list_reverse(facts), 1, $max_facts) AS facts,
          [party(uscc, 'buyer')] AS parties
        FROM worst WHERE excess > greatest($tolerance, $tolerance_share * received)
        """,
    ),
    Indicator(
        "tax_burden_low",
        "增值税税负率持续远低于同行",
        "VAT burden persistently far below the industry's",
        "returns",
        (_TAX,),
        "A general taxpayer's VAT burden ((output − input) / sales) is far below the mean of "
        "the other taxpayers of its industry, over the year and in most months it sold: "
        "judged only where the others' burdens agree (a small spread). Deductions or sales "
        "out of line with the trade, month after month (连续低税负); a single large purchase "
        "does not make it.",
        "纳税评估管理办法（试行）(国税发〔2005〕43号) 税负率 indicators; 行业预警税负率 "
        "(industry warning burdens).",
        (
            Param("ratio", "share"),
            Param("persistent_share", "share"),
            Param("min_sales", "yuan"),
            Param("min_returns", "count"),
            Param("min_peers", "count"),
            Param("max_spread", "share"),
        ),
        "VAT burden {burden_share} over {returns} returns, low in {low_months} of the "
        "{selling} months it sold; the {peers} others of industry {industry} average "
        "{peer_share}",
        "增值税税负率 {burden_share}（{returns} 期申报，{selling} 个有销售的月份中 {low_months} "
        "个偏低），同行业 {industry} 其他 {peers} 户平均 {peer_share}",
        """
        WITH d AS (
          SELECT uscc, fact, first_day, sales, output_tax - input_tax AS net
          FROM declaration WHERE taxpayer_type = 'general'),
        g AS (
          SELECT uscc, sum(sales) AS sales, sum(net) AS net, count(*) AS returns,
                 list(fact ORDER BY first_day DESC) AS facts
          FROM d GROUP BY uscc),
        b AS (SELECT g.*, g.net / g.sales AS burden, i.industry
              FROM g JOIN industry i ON i.uscc = g.uscc
              WHERE g.sales >= $min_sales AND g.returns >= $min_returns),
        -- Each taxpayer against its peers without itself: their mean and spread.
        w AS (SELECT *, count(*) OVER p - 1 AS peers,
                (sum(burden) OVER p - burden) / nullif(count(*) OVER p - 1, 0) AS norm,
                (sum(burden * burden) OVER p - burden * burden)
                  / nullif(count(*) OVER p - 1, 0) AS square
              FROM b WINDOW p AS (PARTITION BY industry)),
        months AS (
          SELECT w.uscc, count(*) FILTER (d.sales > 0) AS selling,
            count(*) FILTER (d.sales > 0 AND d.net < $ratio * w.norm * d.sales) AS low_months
          FROM w JOIN d ON d.uscc = w.uscc GROUP BY w.uscc)
        SELECT w.uscc AS subject, NULL::DATE AS on_date,
          CAST((w.norm - w.burden) * w.sales AS BIGINT) AS amount,
          to_json(struct_pack(burden_share := w.burden, peer_share := w.norm,
            returns := w.returns, industry := w.industry, peers := w.peers,
            selling := m.selling, low_months := m.low_months)) AS detail,
          list_slice(w.facts, 1, $max_facts) AS facts, [party(w.uscc, 'declarant')] AS parties
        FROM w JOIN months m ON m.uscc = w.uscc
        WHERE w.peers >= $min_peers AND w.norm > 0
          AND sqrt(greatest(w.square - w.norm * w.norm, 0)) <= $max_spread * w.norm
          AND w.burden < $ratio * w.norm
          AND m.low_months >= $persistent_share * m.selling
        """,
    ),
    # --- 税率 -----------------------------------------------------------------------------
    Indicator(
        "rate_taxpayer_type",
        "税率与纳税人类型不符",
        "rates that do not fit the seller's taxpayer type",
        "rates",
        (_TAX,),
        "An invoice carries a rate the seller's taxpayer type does not use, its type being "
        "the one its VAT returns declare (a small-scale taxpayer invoicing at 13 %, 9 % or "
        "6 %, a general taxpayer at the small-scale 1 %): the invoice claims a type the tax "
        "bureau does not know it by.",
        "增值税暂行条例 第二条、第十二条 (rates of general taxpayers, the levy rate of "
        "small-scale ones); 财政部 税务总局公告2023年第19号 (the 1 % reduced rate).",
        (),
        "invoice {subject} at {rates} while its returns declare a {declared} taxpayer",
        "发票 {subject} 适用税率 {rates}，而申报显示销售方为{declared_zh}纳税人",
        """
        WITH odd AS (
          SELECT i.fact, i.number, i.issued_on, i.total, d.taxpayer_type, d.fact AS return_fact
          FROM invoice i
          ASOF JOIN declaration d ON d.uscc = i.seller AND i.issued_on >= d.first_day
          WHERE (d.taxpayer_type = 'general' AND i.small_only_rate)
             OR (d.taxpayer_type <> 'general' AND i.general_only_rate))
        SELECT o.number AS subject, o.issued_on AS on_date, o.total AS amount,
          to_json(struct_pack(
            rates := array_to_string(list_sort(list_distinct(list(l.rate))), ', '),
            declared := any_value(o.taxpayer_type),
            declared_zh := CASE any_value(o.taxpayer_type) WHEN 'general' THEN '一般'
                                                           ELSE '小规模' END)) AS detail,
          [o.fact, any_value(o.return_fact)] AS facts,
          [party(any_value(i.seller), 'seller')] AS parties
        FROM odd o JOIN invoice i ON i.fact = o.fact
        JOIN invoice_line l ON l.fact = o.fact
        GROUP BY o.fact, o.number, o.issued_on, o.total
        """,
    ),
    # --- 银税互动 -------------------------------------------------------------------------
    Indicator(
        "loan_rating_mismatch",
        "贷款所引纳税信用与实际不符",
        "loan citing a rating other than the attested one",
        "credit",
        (_BANK, _TAX),
        "A bank approved a loan citing a tax credit level that differs from the level the "
        "tax bureau attested for that year, or citing another taxpayer's rating fact.",
        "银税互动 (税总发〔2015〕96号): banks lend on the rating the tax bureau attests.",
        (),
        "loan of {loan} approved on {subject_day} cites {cited}; the tax bureau attested "
        "{attested}",
        "{subject_day} 批准贷款 {loan}，所引纳税信用为 {cited}，税务局核定为 {attested}",
        """
        SELECT c.uscc || ' ' || c.decided_on AS subject, c.decided_on AS on_date,
          c.amount AS amount,
          to_json(struct_pack(subject_day := c.decided_on, loan_cents := c.amount,
            cited := c.cited_year || ' ' || c.cited_level,
            attested := r.year || ' ' || r.level || CASE WHEN r.uscc <> c.uscc
              THEN ' of ' || r.uscc ELSE '' END)) AS detail,
          [c.fact, r.fact] AS facts, [party(c.uscc, 'borrower')] AS parties
        FROM cited c JOIN rating r ON r.fact = c.rating_fact
        WHERE r.level IS DISTINCT FROM c.cited_level OR r.uscc <> c.uscc
        """,
    ),
    Indicator(
        "loan_rating_revoked",
        "贷款所引纳税信用已撤销",
        "loan citing a revoked rating",
        "credit",
        (_BANK, _TAX),
        "A bank approved a loan on a tax credit rating the tax bureau revoked (attested in "
        "error) and did not attest again.",
        "银税互动 (税总发〔2015〕96号); a revoked fact no longer stands (the ledger's revocation).",
        (),
        "loan of {loan} approved on {subject_day} cites the {cited} rating, which the tax "
        "bureau revoked",
        "{subject_day} 批准贷款 {loan}，所引 {cited} 纳税信用已被税务局撤销",
        """
        SELECT c.uscc || ' ' || c.decided_on AS subject, c.decided_on AS on_date,
          c.amount AS amount,
          to_json(struct_pack(subject_day := c.decided_on, loan_cents := c.amount,
            cited := c.cited_year || ' ' || c.cited_level)) AS detail,
          [c.fact, c.revoked_fact] AS facts, [party(c.uscc, 'borrower')] AS parties
        FROM cited c WHERE c.rating_fact IS NULL AND c.revoked_fact IS NOT NULL
        """,
    ),
    Indicator(
        "loan_rating_stale",
        "贷款所引纳税信用已过期",
        "loan citing a stale rating",
        "credit",
        (_BANK, _TAX),
        "A bank approved a loan on a rating older than the latest one published by the day "
        "it decided: the newer rating may say otherwise.",
        "纳税信用管理办法（试行）(国家税务总局公告2014年第40号): ratings are published each "
        "April and replace the year before's.",
        (),
        "loan of {loan} approved on {subject_day} cites the {cited} rating; the {latest} one "
        "was published",
        "{subject_day} 批准贷款 {loan}，所引为 {cited} 纳税信用，当时已发布 {latest} 纳税信用",
        """
        SELECT c.uscc || ' ' || c.decided_on AS subject, c.decided_on AS on_date,
          c.amount AS amount,
          to_json(struct_pack(subject_day := c.decided_on, loan_cents := c.amount,
            cited := c.cited_year || ' ' || coalesce(c.cited_level, ''),
            latest := r.year || ' ' || r.level)) AS detail,
          [c.fact, r.fact] AS facts, [party(c.uscc, 'borrower')] AS parties
        FROM cited c ASOF JOIN rating r
          ON r.uscc = c.uscc AND c.decided_on >= r.published_on
        WHERE r.year > c.cited_year
        """,
    ),
    Indicator(
        "loan_risky_borrower",
        "向C/D级或异常企业放贷",
        "loan to a C/D-rated or abnormal company",
        "credit",
        (_BANK, _TAX, _MARKET),
        "A bank approved a loan to a company whose latest rating at the decision was C or D, "
        "or that was on the abnormal-operations list or an abnormal, absconded or "
        "deregistered taxpayer.",
        "银税互动 lends to A, B and M levels (税总发〔2015〕96号, M since 2019); "
        "纳税信用管理办法 on C and D; 经营异常名录.",
        (),
        "loan of {loan} approved on {subject_day} to a company {standing}",
        "{subject_day} 向{standing_zh}的企业批准贷款 {loan}",
        """
        SELECT c.uscc || ' ' || c.decided_on AS subject, c.decided_on AS on_date,
          c.amount AS amount,
          to_json(struct_pack(subject_day := c.decided_on, loan_cents := c.amount,
            standing := array_to_string(list_filter([
              CASE WHEN r.level IN ('C', 'D') THEN 'rated ' || r.level || ' for ' || r.year END,
              CASE WHEN g.abnormal THEN 'on the abnormal-operations list' END,
              CASE WHEN g.status <> 'active' THEN 'registration ' || g.status END,
              CASE WHEN t.status IN ('abnormal', 'absconded', 'deregistered')
                THEN 'tax status ' || t.status END],
              lambda x: x IS NOT NULL), ', '),
            standing_zh := array_to_string(list_filter([
              CASE WHEN r.level IN ('C', 'D') THEN r.year || '年度纳税信用' || r.level || '级' END,
              CASE WHEN g.abnormal THEN '列入经营异常名录' END,
              CASE WHEN g.status <> 'active' THEN '登记状态 ' || g.status END,
              CASE WHEN t.status IN ('abnormal', 'absconded', 'deregistered')
                THEN '税务状态 ' || t.status END],
              lambda x: x IS NOT NULL), '、'))) AS detail,
          list_filter([c.fact, r.fact, g.fact, t.fact], lambda x: x IS NOT NULL) AS facts,
          [party(c.uscc, 'borrower')] AS parties
        FROM cited c
        ASOF LEFT JOIN rating r ON r.uscc = c.uscc AND c.decided_on >= r.published_on
        ASOF LEFT JOIN registration g ON g.uscc = c.uscc AND c.decided_on >= g.as_of
        ASOF LEFT JOIN tax_status t ON t.uscc = c.uscc AND c.decided_on >= t.since
        WHERE r.level IN ('C', 'D') OR g.abnormal OR g.status <> 'active'
          OR t.status IN ('abnormal', 'absconded', 'deregistered')
        """,
    ),
)

BY_CODE: Final = {indicator.code: indicator for indicator in INDICATORS}

#: Rates only one taxpayer type may invoice at (the records' own tables): a line at one of
#: them tells the seller's type.
GENERAL_ONLY_RATES: Final = sorted(GENERAL_RATES - SMALL_SCALE_RATES)
SMALL_ONLY_RATES: Final = sorted(SMALL_SCALE_RATES - GENERAL_RATES)
