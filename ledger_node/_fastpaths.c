/* Compiled "certainly valid?" predicates for the schemas that dominate the traffic:
 * invoice.issued/v1 and /v2, payment.settled/v1 and /v2 (records/invoice.py, records/payment.py),
 * and tax.declaration/v1 (records/declaration.py),
 * the hex decoding of a proof bundle's fields (see the fast parse in bundle.py), the split of
 * a JSON array into its items' text (see the bulk intake in gateway/ingest.py), and the
 * HMAC-SHA256 of subject tags (ledger_node/subject.py).
 *
 * A predicate never raises and never reports: it returns True only for a record that the
 * full, error-collecting checks of its schema's module accept, and False for anything else,
 * including valid records it does not want to decide (very long decimals, say). Then the
 * full checks run and say exactly what is wrong. tests/records/test_fastpath.py holds these
 * functions to that contract with generated and mutated records.
 *
 * Every rule here restates one of those modules': formats are matched by hand instead of by
 * regular expression, arithmetic is on integer cents in 128-bit integers. Where this file is
 * stricter than the full checks (an offset of +23:59 at most, products below 10^36) it only
 * sends a record to the slower path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef __int128 i128;

#define MAX_LINES 2000
#define MAX_NAME_LENGTH 200
#define MAX_REMARKS_LENGTH 2000

/* Field names, interned once. */
static PyObject *K_invoice_number, *K_issued_at, *K_invoice_type, *K_seller, *K_buyer,
    *K_lines, *K_total_amount, *K_total_tax, *K_total, *K_remarks, *K_red_of, *K_name,
    *K_tax_id, *K_id_type, *K_tax_code, *K_quantity, *K_unit_price, *K_amount, *K_rate,
    *K_tax, *K_discount, *K_payment_id, *K_payer, *K_payee, *K_currency, *K_value_date, *K_drawer,
    *K_issued_by, *K_confirmation_number, *K_taxpayer_type, *K_number, *K_issued_on, *K_settles,
    *K_amount_cny, *K_uscc, *K_period, *K_sales, *K_output_tax, *K_input_tax,
    *K_credit_brought_forward, *K_tax_payable, *K_credit_carried_forward, *K_filed_on;

/* --- strings ---------------------------------------------------------------------------- */

/* An exact str (a subclass is refused, as the schema refuses it) whose characters can be
 * read. */
static inline int
is_str(PyObject *s)
{
    if (s == NULL || !PyUnicode_CheckExact(s)) {
        return 0;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(s)) {
        return 0;
    }
#endif
    return 1;
}

/* The bytes of an exact str made only of ASCII characters. */
static inline int
ascii(PyObject *s, const unsigned char **p, Py_ssize_t *n)
{
    if (!is_str(s) || !PyUnicode_IS_ASCII(s)) {
        return 0;
    }
    *p = PyUnicode_1BYTE_DATA(s);
    *n = PyUnicode_GET_LENGTH(s);
    return 1;
}

static inline int
is_control(Py_UCS4 c)
{
    /* C0, DEL and C1 controls, and surrogates (a lone one has no UTF-8 form). */
    return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff);
}

/* Text: 1..limit characters, no controls, no whitespace at either end (Python's \s). */
static int
text_ok(PyObject *s, Py_ssize_t limit)
{
    if (!is_str(s)) {
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < 1 || n > limit) {
        return 0;
    }
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (is_control(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, 0))
           && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, n - 1));
}

/* A line name "*category*name": exactly two asterisks, one first, each followed by a
 * character that is not whitespace; no controls; at most MAX_NAME_LENGTH characters. */
static int
line_name_ok(PyObject *s)
{
    if (!is_str(s)) {
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < 4 || n > MAX_NAME_LENGTH) {
        return 0;
    }
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (PyUnicode_READ(kind, data, 0) != '*') {
        return 0;
    }
    Py_ssize_t second = -1;
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_control(c)) {
            return 0;
        }
        if (c == '*') {
            if (second >= 0) {
                return 0;
            }
            second = i;
        }
    }
    if (second < 2 || second + 1 >= n) {
        return 0;
    }
    return !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, 1))
           && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, second + 1));
}

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
digits_ok(PyObject *s, Py_ssize_t count)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != count) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

static int
equals(PyObject *s, const char *text)
{
    const unsigned char *p;
    Py_ssize_t n;
    return ascii(s, &p, &n) && (size_t)n == strlen(text) && memcmp(p, text, (size_t)n) == 0;
}

/* --- numbers ---------------------------------------------------------------------------- */

/* Decimal: -?(0|[1-9][0-9]{0,15})(\.[0-9]{1,13})?, negative zero refused; as an integer of
 * all its digits, the number of fraction digits, and the number of digits. */
static int
decimal(PyObject *s, i128 *units, int *scale, int *digit_count)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n)) {
        return 0;
    }
    Py_ssize_t i = 0;
    int negative = 0;
    if (n > 0 && p[0] == '-') {
        negative = 1;
        i = 1;
    }
    Py_ssize_t start = i;
    while (i < n && is_digit(p[i])) {
        i++;
    }
    Py_ssize_t whole = i - start;
    if (whole < 1 || whole > 16 || (whole > 1 && p[start] == '0')) {
        return 0;
    }
    Py_ssize_t point = i;
    int fraction = 0;
    if (i < n) {
        if (p[i] != '.') {
            return 0;
        }
        i++;
        while (i < n && is_digit(p[i])) {
            i++;
        }
        fraction = (int)(i - point - 1);
        if (fraction < 1 || fraction > 13 || i != n) {
            return 0;
        }
    }
    /* Up to 18 digits (every money value) in 64 bits, longer quantities in 128. */
    i128 value;
    if (whole + fraction <= 18) {
        uint64_t small = 0;
        for (Py_ssize_t k = start; k < n; k++) {
            if (k != point) {
                small = small * 10 + (uint64_t)(p[k] - '0');
            }
        }
        value = (i128)small;
    }
    else {
        value = 0;
        for (Py_ssize_t k = start; k < n; k++) {
            if (k != point) {
                value = value * 10 + (p[k] - '0');
            }
        }
    }
    if (negative) {
        if (value == 0) {
            return 0;
        }
        value = -value;
    }
    *units = value;
    *scale = fraction;
    *digit_count = (int)whole + fraction;
    return 1;
}

/* Money: a decimal with exactly two fraction digits, -?(0|[1-9][0-9]{0,15})\.[0-9]{2},
 * "-0.00" refused; its value in cents. */
static int
money(PyObject *s, int64_t *cents)
{
    i128 units;
    int scale, digit_count;
    if (!decimal(s, &units, &scale, &digit_count) || scale != 2) {
        return 0;
    }
    *cents = (int64_t)units; /* at most 18 digits */
    return 1;
}

static const int64_t POW10[19] = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

/* |quantity × unit price − amount| ≤ 0.01, in units of 10^-(scales + 2). Products that could
 * overflow 128 bits are left to the full checks. */
static int
product_ok(PyObject *quantity, PyObject *price, int64_t cents)
{
    i128 q, p;
    int qs, ps, qd, pd;
    if (!decimal(quantity, &q, &qs, &qd) || !decimal(price, &p, &ps, &pd)) {
        return 0;
    }
    if (qd + pd > 36 || qs + ps > 18) {
        return 0;
    }
    i128 unit = POW10[qs + ps];
    i128 diff = q * p * 100 - (i128)cents * unit;
    if (diff < 0) {
        diff = -diff;
    }
    return diff <= unit;
}

/* --- dates ------------------------------------------------------------------------------ */

static int
number_at(const unsigned char *p, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (!is_digit(p[i])) {
            return -1;
        }
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

static int
real_date(int year, int month, int day)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1) {
        return 0;
    }
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days[month - 1] + (month == 2 && leap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
day_number(int year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

#define NO_DAY INT64_MIN

/* YYYY-MM-DD at p, a real date (what date.fromisoformat accepts of that shape): its day
 * number, NO_DAY if it is not one. */
static int64_t
date_at(const unsigned char *p)
{
    if (p[4] != '-' || p[7] != '-') {
        return NO_DAY;
    }
    int year = number_at(p, 4), month = number_at(p + 5, 2), day = number_at(p + 8, 2);
    if (!real_date(year, month, day)) {
        return NO_DAY;
    }
    return day_number(year, month, day);
}

/* A YYYY-MM-DD string's day number, NO_DAY if it is not a real date. */
static int64_t
date_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 10) {
        return NO_DAY;
    }
    return date_at(p);
}

/* The clock of a check: the latest POSIX second a fact may carry (acceptance + skew) and
 * that instant's calendar day in China Standard Time (records/clock.py). */
typedef struct {
    int64_t seconds;
    int64_t day;
} acceptance;

static acceptance
clock_of(int64_t seconds)
{
    int64_t local = seconds + 8 * 3600;
    acceptance c = {seconds, local >= 0 ? local / 86400 : -((-local + 86399) / 86400)};
    return c;
}

/* A date string not after the clock's day and not before `floor` (a day number). */
static int
dated_ok(PyObject *s, const acceptance *now, int64_t floor)
{
    int64_t day = date_ok(s);
    return day != NO_DAY && day <= now->day && day >= floor;
}

/* YYYY-MM-DDTHH:MM:SS(.f{1,6})?(Z|±HH:MM), a real instant, offset below 24 h, not after the
 * clock and at or after `floor` (POSIX seconds). Its written date's day number in *day. A
 * fraction of a second counts as a whole one: stricter than the full check, never laxer. */
static int
datetime_ok(PyObject *s, const acceptance *now, int64_t floor, int64_t *day)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n < 20 || p[10] != 'T' || p[13] != ':' || p[16] != ':') {
        return 0;
    }
    *day = date_at(p);
    if (*day == NO_DAY) {
        return 0;
    }
    int hour = number_at(p + 11, 2), minute = number_at(p + 14, 2),
        second = number_at(p + 17, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return 0;
    }
    Py_ssize_t i = 19;
    int fraction = 0;
    if (p[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && is_digit(p[i])) {
            i++;
        }
        if (i - start < 1 || i - start > 6) {
            return 0;
        }
        fraction = 1;
    }
    int64_t offset = 0;
    if (i == n - 1) {
        if (p[i] != 'Z') {
            return 0;
        }
    }
    else {
        if (i != n - 6 || (p[i] != '+' && p[i] != '-') || p[i + 3] != ':') {
            return 0;
        }
        int oh = number_at(p + i + 1, 2), om = number_at(p + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) {
            return 0;
        }
        offset = (p[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
    }
    int64_t instant = *day * 86400 + hour * 3600 + minute * 60 + second - offset;
    return instant + fraction <= now->seconds && instant >= floor;
}

/* --- rates ------------------------------------------------------------------------------ */

#define GENERAL 1
#define SMALL_SCALE 2
#define NOT_ON_SPECIAL 4
#define OPEN_START INT64_MIN
#define OPEN_END INT64_MAX

/* Tax and levy rates: their thousandths, who may use them and when they were in force
 * (amounts.py: RATE_PER_MILLE, GENERAL_RATES, SMALL_SCALE_RATES, NOT_ON_SPECIAL_INVOICES,
 * RATES_IN_FORCE; a test compares this table, exported as RATE_TABLE, with those). Periods
 * are given as dates and turned into day numbers at import. */
typedef struct {
    const char *text;
    int per_mille;
    int flags;
    int periods;
    const char *from[2], *until[2];
    int64_t first[2], last[2];
} rate_entry;

static rate_entry RATES[] = {
    {"0.13", 130, GENERAL, 2, {NULL, "2019-04-01"}, {"2017-06-30", NULL}, {0}, {0}},
    {"0.09", 90, GENERAL, 1, {"2019-04-01"}, {NULL}, {0}, {0}},
    {"0.06", 60, GENERAL, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.05", 50, GENERAL | SMALL_SCALE, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.03", 30, GENERAL | SMALL_SCALE, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.01", 10, SMALL_SCALE, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.015", 15, GENERAL | SMALL_SCALE, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.005", 5, GENERAL | SMALL_SCALE, 0, {NULL}, {NULL}, {0}, {0}},
    {"0", 0, GENERAL | NOT_ON_SPECIAL, 0, {NULL}, {NULL}, {0}, {0}},
    {"exempt", 0, GENERAL | SMALL_SCALE | NOT_ON_SPECIAL, 0, {NULL}, {NULL}, {0}, {0}},
    {"not_taxable", 0, GENERAL | SMALL_SCALE | NOT_ON_SPECIAL, 0, {NULL}, {NULL}, {0}, {0}},
    {"0.17", 170, GENERAL, 1, {NULL}, {"2018-04-30"}, {0}, {0}},
    {"0.11", 110, GENERAL, 1, {NULL}, {"2018-04-30"}, {0}, {0}},
    {"0.16", 160, GENERAL, 1, {"2018-05-01"}, {"2019-03-31"}, {0}, {0}},
    {"0.10", 100, GENERAL, 1, {"2018-05-01"}, {"2019-03-31"}, {0}, {0}},
};
#define RATE_COUNT (sizeof RATES / sizeof RATES[0])

static int64_t
iso_day(const char *text, int64_t open)
{
    return text == NULL ? open : date_at((const unsigned char *)text);
}

static void
init_rates(void)
{
    for (size_t i = 0; i < RATE_COUNT; i++) {
        for (int k = 0; k < RATES[i].periods; k++) {
            RATES[i].first[k] = iso_day(RATES[i].from[k], OPEN_START);
            RATES[i].last[k] = iso_day(RATES[i].until[k], OPEN_END);
        }
    }
}

/* The rate's entry; NULL if not a rate. */
static const rate_entry *
rate_of(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n)) {
        return NULL;
    }
    for (size_t i = 0; i < RATE_COUNT; i++) {
        if ((size_t)n == strlen(RATES[i].text) && memcmp(p, RATES[i].text, (size_t)n) == 0) {
            return &RATES[i];
        }
    }
    return NULL;
}

static int
in_force(const rate_entry *rate, int64_t day)
{
    if (rate->periods == 0) {
        return 1;
    }
    for (int k = 0; k < rate->periods; k++) {
        if (rate->first[k] <= day && day <= rate->last[k]) {
            return 1;
        }
    }
    return 0;
}

/* --- identifiers ------------------------------------------------------------------------ */

/* GB 32100 character values (index in 0123456789ABCDEFGHJKLMNPQRTUWXY), -1 outside it. */
static signed char USCC_VALUE[256];

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* GB 32100-2015: each registration authority and its categories (identifiers.py's
 * USCC_CATEGORIES). */
static const char *const USCC_CATEGORIES[][2] = {
    {"1", "1239"}, {"2", "19"}, {"3", "123459"}, {"4", "19"}, {"5", "1239"}, {"6", "129"},
    {"7", "129"},  {"8", "19"}, {"9", "123"},    {"A", "19"}, {"N", "1239"}, {"Y", "1"},
};
#define USCC_AUTHORITY_COUNT (sizeof USCC_CATEGORIES / sizeof USCC_CATEGORIES[0])

/* GB/T 2260 provincial-level codes of the mainland (identifiers.py's MAINLAND_PROVINCES). */
static const char *const PROVINCES[] = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
};
#define PROVINCE_COUNT (sizeof PROVINCES / sizeof PROVINCES[0])

/* Bit p of a table: the two-digit prefix p is in it. */
static unsigned char MAINLAND[100], USCC_REGION[100], RESIDENT_REGION[100];

static void
init_identifiers(void)
{
    memset(USCC_VALUE, -1, sizeof USCC_VALUE);
    for (int i = 0; USCC_ALPHABET[i]; i++) {
        USCC_VALUE[(unsigned char)USCC_ALPHABET[i]] = (signed char)i;
    }
    for (size_t i = 0; i < PROVINCE_COUNT; i++) {
        int code = (PROVINCES[i][0] - '0') * 10 + (PROVINCES[i][1] - '0');
        MAINLAND[code] = USCC_REGION[code] = RESIDENT_REGION[code] = 1;
    }
    USCC_REGION[10] = 1; /* central-level registrations, division code 100000 */
    RESIDENT_REGION[71] = RESIDENT_REGION[81] = RESIDENT_REGION[82] = RESIDENT_REGION[83] = 1;
}

static int
prefix_in(const unsigned char *table, const unsigned char *p)
{
    return is_digit(p[0]) && is_digit(p[1]) && table[(p[0] - '0') * 10 + (p[1] - '0')];
}

/* GB 11714 check character of the organisation code at p (8 body characters, then the
 * check): weights 3 7 9 10 5 8 4 2, mod 11, 10 -> X, 11 -> 0. Letters count from A = 10. */
static int
org_code_ok(const unsigned char *p)
{
    static const int weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int total = 0;
    for (int i = 0; i < 8; i++) {
        int value = is_digit(p[i]) ? p[i] - '0' : p[i] - 'A' + 10;
        total += value * weights[i];
    }
    int check = 11 - total % 11;
    return p[8] == (check == 10 ? 'X' : check == 11 ? '0' : '0' + check);
}

/* A USCC: alphabet and shape, authority and category, division prefix, the organisation
 * code's check character and the GB 32100 check character. */
static int
uscc_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 18) {
        return 0;
    }
    /* Position i weighs 3^i mod 31; the check character weighs 1. */
    static const int weights[18] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28, 1};
    int total = 0;
    for (int i = 0; i < 18; i++) {
        int value = USCC_VALUE[p[i]];
        if (value < 0 || (i >= 2 && i < 8 && !is_digit(p[i]))) {
            return 0;
        }
        total += value * weights[i];
    }
    if (total % 31 != 0 || !prefix_in(USCC_REGION, p + 2) || !org_code_ok(p + 8)) {
        return 0;
    }
    for (size_t i = 0; i < USCC_AUTHORITY_COUNT; i++) {
        if (USCC_CATEGORIES[i][0][0] == p[0]) {
            return strchr(USCC_CATEGORIES[i][1], p[1]) != NULL;
        }
    }
    return 0;
}

#define EARLIEST_BIRTH (-25567) /* 1900-01-01 */

/* A resident ID number: [1-9][0-9]{16}[0-9X], a division prefix, a birth date from 1900 to
 * the clock's day, ISO 7064 MOD 11-2. */
static int
resident_id_ok(PyObject *s, const acceptance *now)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 18 || p[0] == '0' || !prefix_in(RESIDENT_REGION, p)) {
        return 0;
    }
    int total = 0;
    for (int i = 0; i < 17; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
        total += (p[i] - '0') * ((1 << (17 - i)) % 11);
    }
    int year = number_at(p + 6, 4), month = number_at(p + 10, 2), day = number_at(p + 12, 2);
    if (!real_date(year, month, day)) {
        return 0;
    }
    int64_t birth = day_number(year, month, day);
    if (birth < EARLIEST_BIRTH || birth > now->day) {
        return 0;
    }
    int check = (12 - total % 11) % 11;
    return p[17] == (check == 10 ? 'X' : '0' + check);
}

/* A pre-USCC taxpayer number: 15, 17 or 20 of [0-9A-Z]. */
static int
legacy_id_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || (n != 15 && n != 17 && n != 20)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(p[i]) && !(p[i] >= 'A' && p[i] <= 'Z')) {
            return 0;
        }
    }
    return 1;
}

/* A 数电 invoice number: 20 digits, positions 3-4 a provincial tax authority, positions 1-2
 * the last two digits of `year` (any year if year < 0). */
static int
invoice_number_ok(PyObject *s, int year)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 20) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
    }
    return prefix_in(MAINLAND, p + 2) && (year < 0 || number_at(p, 2) == year % 100);
}

/* The identifier types the compiled checks decide; the others (passports, permits, foreign
 * permanent resident IDs) take the full checks. */
enum party { PARTY_NONE, PARTY_USCC, PARTY_RESIDENT, PARTY_LEGACY, PARTY_ANONYMOUS };

/* A party {name, id_type, tax_id} plus `extra` other fields (its size), or {name,
 * id_type: "none"} when `anonymous` is allowed; which kind of identifier. */
static enum party
party(PyObject *obj, Py_ssize_t extra, int anonymous, const acceptance *now)
{
    if (obj == NULL || !PyDict_CheckExact(obj)) {
        return PARTY_NONE;
    }
    PyObject *name = PyDict_GetItemWithError(obj, K_name);
    PyObject *id_type = PyDict_GetItemWithError(obj, K_id_type);
    PyObject *tax_id = PyDict_GetItemWithError(obj, K_tax_id);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return PARTY_NONE;
    }
    if (!text_ok(name, MAX_NAME_LENGTH)) {
        return PARTY_NONE;
    }
    if (anonymous && tax_id == NULL && equals(id_type, "none")) {
        return PyDict_GET_SIZE(obj) == 2 + extra ? PARTY_ANONYMOUS : PARTY_NONE;
    }
    if (PyDict_GET_SIZE(obj) != 3 + extra) {
        return PARTY_NONE;
    }
    if (equals(id_type, "uscc")) {
        return uscc_ok(tax_id) ? PARTY_USCC : PARTY_NONE;
    }
    if (equals(id_type, "resident_id")) {
        return resident_id_ok(tax_id, now) ? PARTY_RESIDENT : PARTY_NONE;
    }
    if (equals(id_type, "legacy")) {
        return legacy_id_ok(tax_id) ? PARTY_LEGACY : PARTY_NONE;
    }
    return PARTY_NONE;
}

/* A company {name, tax_id} (exactly those fields) with a USCC. */
static int
company_ok(PyObject *obj)
{
    if (obj == NULL || !PyDict_CheckExact(obj) || PyDict_GET_SIZE(obj) != 2) {
        return 0;
    }
    PyObject *name = PyDict_GetItemWithError(obj, K_name);
    PyObject *tax_id = PyDict_GetItemWithError(obj, K_tax_id);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return text_ok(name, MAX_NAME_LENGTH) && uscc_ok(tax_id);
}

/* --- records ---------------------------------------------------------------------------- */

#define DIGITAL_INVOICES_FROM 1638288000 /* 2021-12-01T00:00:00+08:00 */
#define DIGITAL_INVOICE_DAY 18962        /* 2021-12-01 */
#define PAYMENTS_FROM_DAY 18628          /* 2021-01-01 */
#define LINE_TAX_TOLERANCE 6000          /* 0.06 yuan in thousandths of a cent */
#define INVOICE_TAX_TOLERANCE 127000     /* 1.27 yuan */

/* What the lines of an invoice are checked against. */
typedef struct {
    int sign;         /* +1 blue, -1 red: the sign of ordinary lines */
    int special;      /* a special VAT invoice */
    int64_t sale_day; /* the day whose rates apply */
    int allowed;      /* GENERAL or SMALL_SCALE (v2), or both (v1) */
    int priced;       /* quantity and unit price required on ordinary lines (v1) */
} terms;

/* The lines of an invoice; their sums. */
static int
lines_ok(PyObject *lines, const terms *t, i128 *amount_sum, i128 *tax_sum)
{
    if (!PyList_CheckExact(lines)) {
        return 0;
    }
    Py_ssize_t count = PyList_GET_SIZE(lines);
    if (count < 1 || count > MAX_LINES) {
        return 0;
    }
    /* The ordinary line a discount may follow: its amount, rate and tax code. */
    int have_previous = 0;
    int64_t previous_amount = 0;
    PyObject *previous_rate = NULL, *previous_code = NULL;
    i128 amounts = 0, taxes = 0, drift = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *line = PyList_GET_ITEM(lines, i);
        if (!PyDict_CheckExact(line)) {
            return 0;
        }
        Py_ssize_t size = PyDict_GET_SIZE(line);
        PyObject *discount = PyDict_GetItemWithError(line, K_discount);
        PyObject *name = PyDict_GetItemWithError(line, K_name);
        PyObject *code = PyDict_GetItemWithError(line, K_tax_code);
        PyObject *amount = PyDict_GetItemWithError(line, K_amount);
        PyObject *rate = PyDict_GetItemWithError(line, K_rate);
        PyObject *tax = PyDict_GetItemWithError(line, K_tax);
        PyObject *quantity = PyDict_GetItemWithError(line, K_quantity);
        PyObject *price = PyDict_GetItemWithError(line, K_unit_price);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        int64_t cents, tax_cents;
        const rate_entry *entry = rate_of(rate);
        if (entry == NULL || !line_name_ok(name) || !digits_ok(code, 19)
            || !money(amount, &cents) || !money(tax, &tax_cents)) {
            return 0;
        }
        if (!(entry->flags & t->allowed) || (t->special && (entry->flags & NOT_ON_SPECIAL))
            || !in_force(entry, t->sale_day)) {
            return 0;
        }
        /* Quantity and unit price: both (two more fields) or neither. */
        int priced = quantity != NULL && price != NULL;
        if ((quantity != NULL) != (price != NULL)
            || (priced && !product_ok(quantity, price, cents))) {
            return 0;
        }
        if (discount == NULL) {
            /* An ordinary line: its five fields and the price pair (required in v1). */
            if (size != 5 + 2 * priced || (t->priced && !priced) || cents * t->sign <= 0) {
                return 0;
            }
            have_previous = 1;
            previous_amount = cents;
            previous_rate = rate;
            previous_code = code;
        }
        else {
            /* A discount of the line before: same rate and tax code, opposite sign, no
             * larger. */
            if (discount != Py_True || !have_previous || size != 6 + 2 * priced) {
                return 0;
            }
            int same_rate = PyUnicode_Compare(rate, previous_rate) == 0;
            int same_code = PyUnicode_Compare(code, previous_code) == 0;
            if (!same_rate || !same_code || cents * t->sign >= 0
                || (cents < 0 ? -cents : cents)
                       > (previous_amount < 0 ? -previous_amount : previous_amount)) {
                return 0;
            }
            have_previous = 0;
        }
        /* tax × 1000 − amount × rate, in thousandths of a cent: within 0.06 per line. */
        i128 off = (i128)tax_cents * 1000 - (i128)cents * entry->per_mille;
        if (entry->per_mille ? off > LINE_TAX_TOLERANCE || off < -LINE_TAX_TOLERANCE
                             : tax_cents != 0) {
            return 0;
        }
        drift += off;
        amounts += cents;
        taxes += tax_cents;
    }
    if (drift > INVOICE_TAX_TOLERANCE || drift < -INVOICE_TAX_TOLERANCE) {
        return 0;
    }
    *amount_sum = amounts;
    *tax_sum = taxes;
    return 1;
}

/* The v2 red_of of a 数电 blue invoice {number, issued_on}: its issue day. Pre-digital blue
 * invoices take the full checks. */
static int64_t
blue_day(PyObject *ref, PyObject *number, int64_t red_day)
{
    if (!PyDict_CheckExact(ref) || PyDict_GET_SIZE(ref) != 2) {
        return NO_DAY;
    }
    PyObject *blue = PyDict_GetItemWithError(ref, K_number);
    PyObject *issued_on = PyDict_GetItemWithError(ref, K_issued_on);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return NO_DAY;
    }
    int64_t day = date_ok(issued_on);
    if (day == NO_DAY || day < DIGITAL_INVOICE_DAY || day > red_day) {
        return NO_DAY;
    }
    const unsigned char *p = PyUnicode_1BYTE_DATA(issued_on);
    if (!invoice_number_ok(blue, number_at(p, 4)) || PyUnicode_Compare(blue, number) == 0) {
        return NO_DAY;
    }
    return day;
}

static int
confirmation_ok(PyObject *s)
{
    return digits_ok(s, 20) || digits_ok(s, 16);
}

static int
invoice_ok(PyObject *r, int version, const acceptance *now)
{
    if (!PyDict_CheckExact(r)) {
        return 0;
    }
    PyObject *number = PyDict_GetItemWithError(r, K_invoice_number);
    PyObject *issued = PyDict_GetItemWithError(r, K_issued_at);
    PyObject *itype = PyDict_GetItemWithError(r, K_invoice_type);
    PyObject *seller = PyDict_GetItemWithError(r, K_seller);
    PyObject *buyer = PyDict_GetItemWithError(r, K_buyer);
    PyObject *lines = PyDict_GetItemWithError(r, K_lines);
    PyObject *total_amount = PyDict_GetItemWithError(r, K_total_amount);
    PyObject *total_tax = PyDict_GetItemWithError(r, K_total_tax);
    PyObject *total = PyDict_GetItemWithError(r, K_total);
    PyObject *remarks = PyDict_GetItemWithError(r, K_remarks);
    PyObject *red_of = PyDict_GetItemWithError(r, K_red_of);
    PyObject *drawer = NULL, *issued_by = NULL, *confirmation = NULL;
    if (version == 2) {
        drawer = PyDict_GetItemWithError(r, K_drawer);
        issued_by = PyDict_GetItemWithError(r, K_issued_by);
        confirmation = PyDict_GetItemWithError(r, K_confirmation_number);
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    /* The required fields, the optional ones, nothing else. */
    if (number == NULL || issued == NULL || itype == NULL || seller == NULL || buyer == NULL
        || lines == NULL || total_amount == NULL || total_tax == NULL || total == NULL) {
        return 0;
    }
    Py_ssize_t expected = 9 + (remarks != NULL) + (red_of != NULL);
    if (version == 2) {
        if (drawer == NULL || issued_by == NULL || (confirmation != NULL) != (red_of != NULL)
            || !text_ok(drawer, MAX_NAME_LENGTH)
            || !(equals(issued_by, "seller") || equals(issued_by, "tax_bureau"))
            || (confirmation != NULL && !confirmation_ok(confirmation))) {
            return 0;
        }
        expected += 2 + (confirmation != NULL);
    }
    if (PyDict_GET_SIZE(r) != expected) {
        return 0;
    }
    int64_t day;
    if (!datetime_ok(issued, now, DIGITAL_INVOICES_FROM, &day)) {
        return 0;
    }
    terms t = {1, equals(itype, "special"), day, GENERAL | SMALL_SCALE, version == 1};
    if (!(t.special || equals(itype, "ordinary"))
        || !invoice_number_ok(number, number_at(PyUnicode_1BYTE_DATA(issued), 4))) {
        return 0;
    }
    if (version == 1) {
        if (!company_ok(seller)) {
            return 0;
        }
    }
    else {
        /* An organisation, or an individual with a resident ID whose invoice the tax bureau
         * issues (代开) as a small-scale taxpayer; other documents take the full checks. */
        enum party kind = party(seller, 1, 0, now);
        PyObject *type = kind == PARTY_NONE ? NULL : PyDict_GetItemWithError(seller, K_taxpayer_type);
        if (type == NULL) {
            PyErr_Clear();
            return 0;
        }
        t.allowed = equals(type, "general") ? GENERAL : equals(type, "small_scale") ? SMALL_SCALE : 0;
        int organisation = kind == PARTY_USCC || kind == PARTY_LEGACY;
        int on_behalf = kind == PARTY_RESIDENT && t.allowed == SMALL_SCALE
                        && equals(issued_by, "tax_bureau");
        if (!t.allowed || !(organisation || on_behalf)) {
            return 0;
        }
    }
    enum party buyer_kind = party(buyer, 0, 1, now);
    if (buyer_kind == PARTY_NONE
        || (t.special && buyer_kind != PARTY_USCC && buyer_kind != PARTY_LEGACY)) {
        return 0;
    }
    if (remarks != NULL && !text_ok(remarks, MAX_REMARKS_LENGTH)) {
        return 0;
    }
    if (red_of != NULL) {
        t.sign = -1;
        if (version == 1) {
            if (!invoice_number_ok(red_of, -1) || PyUnicode_Compare(red_of, number) == 0) {
                return 0;
            }
        }
        else {
            t.sale_day = blue_day(red_of, number, day);
            if (t.sale_day == NO_DAY) {
                return 0;
            }
        }
    }
    int64_t ta, tt, tot;
    if (!money(total_amount, &ta) || !money(total_tax, &tt) || !money(total, &tot)) {
        return 0;
    }
    i128 amount_sum, tax_sum;
    if (!lines_ok(lines, &t, &amount_sum, &tax_sum)) {
        return 0;
    }
    if (ta != amount_sum || tt != tax_sum || tot != amount_sum + tax_sum) {
        return 0;
    }
    return t.sign > 0 || (ta < 0 && tot < 0);
}

/* [0-9A-Za-z][0-9A-Za-z._:-]{0,63} */
static int
payment_id_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n < 1 || n > 64) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        int alnum = is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-'))) {
            return 0;
        }
    }
    return 1;
}

static int
payment_v1_ok(PyObject *r, const acceptance *now)
{
    if (!PyDict_CheckExact(r) || PyDict_GET_SIZE(r) != 7) {
        return 0;
    }
    PyObject *payment_id = PyDict_GetItemWithError(r, K_payment_id);
    PyObject *number = PyDict_GetItemWithError(r, K_invoice_number);
    PyObject *payer = PyDict_GetItemWithError(r, K_payer);
    PyObject *payee = PyDict_GetItemWithError(r, K_payee);
    PyObject *amount = PyDict_GetItemWithError(r, K_amount);
    PyObject *currency = PyDict_GetItemWithError(r, K_currency);
    PyObject *value_date = PyDict_GetItemWithError(r, K_value_date);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    int64_t cents;
    enum party payer_kind = party(payer, 0, 0, now);
    return payment_id_ok(payment_id) && invoice_number_ok(number, -1)
           && payer_kind != PARTY_NONE && company_ok(payee) && money(amount, &cents)
           && cents > 0 && equals(currency, "CNY")
           && dated_ok(value_date, now, PAYMENTS_FROM_DAY);
}

#define MAX_COMPARED_SETTLED 32

/* A payment.settled/v2 in CNY, or in one of `foreign` (the other currencies with two minor
 * digits, a frozenset from records/payment.py) with its CNY amount; others take the full
 * checks. */
static int
payment_v2_ok(PyObject *r, const acceptance *now, PyObject *foreign)
{
    if (!PyDict_CheckExact(r)) {
        return 0;
    }
    PyObject *payment_id = PyDict_GetItemWithError(r, K_payment_id);
    PyObject *payer = PyDict_GetItemWithError(r, K_payer);
    PyObject *payee = PyDict_GetItemWithError(r, K_payee);
    PyObject *amount = PyDict_GetItemWithError(r, K_amount);
    PyObject *currency = PyDict_GetItemWithError(r, K_currency);
    PyObject *value_date = PyDict_GetItemWithError(r, K_value_date);
    PyObject *settles = PyDict_GetItemWithError(r, K_settles);
    PyObject *amount_cny = PyDict_GetItemWithError(r, K_amount_cny);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (PyDict_GET_SIZE(r) != 7 + (amount_cny != NULL) || !is_str(currency)) {
        return 0;
    }
    int64_t cents, cny = 0;
    if (amount_cny == NULL) {
        if (!equals(currency, "CNY")) {
            return 0;
        }
    }
    else if (PySet_Contains(foreign, currency) != 1 || !money(amount_cny, &cny) || cny <= 0) {
        PyErr_Clear();
        return 0;
    }
    if (!payment_id_ok(payment_id) || party(payer, 0, 0, now) == PARTY_NONE
        || party(payee, 0, 0, now) == PARTY_NONE || !money(amount, &cents) || cents <= 0
        || !dated_ok(value_date, now, PAYMENTS_FROM_DAY) || settles == NULL
        || !PyList_CheckExact(settles)) {
        return 0;
    }
    if (amount_cny == NULL) {
        cny = cents;
    }
    Py_ssize_t count = PyList_GET_SIZE(settles);
    if (count < 1 || count > MAX_COMPARED_SETTLED) {
        return 0;
    }
    i128 sum = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(settles, i);
        if (!PyDict_CheckExact(item) || PyDict_GET_SIZE(item) != 2) {
            return 0;
        }
        PyObject *number = PyDict_GetItemWithError(item, K_invoice_number);
        PyObject *part = PyDict_GetItemWithError(item, K_amount);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        int64_t part_cents;
        if (!invoice_number_ok(number, -1) || !money(part, &part_cents) || part_cents <= 0) {
            return 0;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            PyObject *earlier = PyDict_GetItem(PyList_GET_ITEM(settles, j), K_invoice_number);
            if (PyUnicode_Compare(earlier, number) == 0) {
                return 0;
            }
        }
        sum += part_cents;
    }
    return sum == cny;
}

/* --- tax.declaration/v1 ---------------------------------------------------------------- */

#define DECLARATIONS_FROM_DAY 17987 /* 2019-04-01, FIRST_PERIOD */

/* A return's period, YYYY-MM or YYYY-Qn: the day numbers of its first and last days. */
static int
period_ok(PyObject *s, int64_t *first, int64_t *last)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 7 || p[4] != '-') {
        return 0;
    }
    int year = number_at(p, 4), first_month, last_month;
    if (year < 1) {
        return 0;
    }
    if (p[5] == 'Q') {
        if (p[6] < '1' || p[6] > '4') {
            return 0;
        }
        first_month = 3 * (p[6] - '0') - 2;
        last_month = first_month + 2;
    }
    else {
        first_month = last_month = number_at(p + 5, 2);
        if (first_month < 1 || first_month > 12) {
            return 0;
        }
    }
    *first = day_number(year, first_month, 1);
    /* The last day: the day before the next month's first, counted within the year. */
    *last = last_month == 12 ? day_number(year, 12, 31) : day_number(year, last_month + 1, 1) - 1;
    return 1;
}

/* A field of a return that must be money of at least zero. */
static int
non_negative_ok(PyObject *s, int64_t *cents)
{
    return money(s, cents) && *cents >= 0;
}

/* The values of `count` fields of an object that has exactly those (and no other) fields. */
static int
exactly(PyObject *object, PyObject *const *keys, PyObject **values, Py_ssize_t count)
{
    if (!PyDict_CheckExact(object) || PyDict_GET_SIZE(object) != count) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        values[i] = PyDict_GetItemWithError(object, keys[i]);
        if (values[i] == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

static int
declaration_v1_ok(PyObject *r, const acceptance *now)
{
    PyObject *const keys[] = {K_uscc, K_period, K_taxpayer_type, K_sales, K_output_tax,
                              K_input_tax, K_credit_brought_forward, K_tax_payable,
                              K_credit_carried_forward, K_filed_on};
    PyObject *v[10];
    if (!exactly(r, keys, v, 10)) {
        return 0;
    }
    PyObject *uscc = v[0], *period = v[1], *taxpayer_type = v[2], *sales = v[3],
             *output_tax = v[4], *input_tax = v[5], *brought = v[6], *payable = v[7],
             *carried = v[8], *filed_on = v[9];
    int64_t first, last, declared, in, from_before, due, to_next;
    int general = equals(taxpayer_type, "general");
    if ((!general && !equals(taxpayer_type, "small_scale")) || !period_ok(period, &first, &last)
        || first < DECLARATIONS_FROM_DAY || !dated_ok(filed_on, now, DECLARATIONS_FROM_DAY)
        || date_ok(filed_on) <= last || !PyList_CheckExact(sales)
        || !money(output_tax, &declared) || !non_negative_ok(input_tax, &in)
        || !non_negative_ok(brought, &from_before) || !non_negative_ok(payable, &due)
        || !non_negative_ok(carried, &to_next)) {
        return 0;
    }
    Py_ssize_t count = PyList_GET_SIZE(sales);
    if (count < 1 || count > (Py_ssize_t)RATE_COUNT) {
        return 0;
    }
    const rate_entry *seen[RATE_COUNT];
    i128 output = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *const sale_keys[] = {K_rate, K_amount, K_tax}, *sale[3];
        if (!exactly(PyList_GET_ITEM(sales, i), sale_keys, sale, 3)) {
            return 0;
        }
        PyObject *rate_text = sale[0], *amount = sale[1], *tax = sale[2];
        const rate_entry *rate = rate_of(rate_text);
        int64_t amount_cents, tax_cents;
        if (rate == NULL || !(rate->flags & (general ? GENERAL : SMALL_SCALE))
            || !in_force(rate, first) || !money(amount, &amount_cents) || !money(tax, &tax_cents)
            || (rate->per_mille == 0 && tax_cents != 0)) {
            return 0;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (seen[j] == rate) {
                return 0;
            }
        }
        seen[i] = rate;
        output += tax_cents;
    }
    return output == declared && (general || (in == 0 && from_before == 0))
           && !(due && to_next) && (i128)declared - in - from_before == (i128)due - to_next
           && uscc_ok(uscc);
}

/* --- proof bundles --------------------------------------------------------------------- */

static signed char HEX_VALUE[256];

static void
init_hex_values(void)
{
    memset(HEX_VALUE, -1, sizeof HEX_VALUE);
    for (int i = 0; i < 10; i++) {
        HEX_VALUE['0' + i] = (signed char)i;
    }
    for (int i = 0; i < 6; i++) {
        HEX_VALUE['a' + i] = (signed char)(10 + i);
    }
}

/* The bytes of "0x" + 2 * size lowercase hex digits, or NULL (no exception set). */
static PyObject *
hex_value(PyObject *s, Py_ssize_t size)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 2 + 2 * size || p[0] != '0' || p[1] != 'x') {
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        PyErr_Clear();
        return NULL;
    }
    unsigned char *q = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < size; i++) {
        int high = HEX_VALUE[p[2 + 2 * i]], low = HEX_VALUE[p[3 + 2 * i]];
        if (high < 0 || low < 0) {
            Py_DECREF(out);
            return NULL;
        }
        q[i] = (unsigned char)(high << 4 | low);
    }
    return out;
}

/* hex_values(strings, sizes): the decoded bytes of each string, or None unless every one is
 * an exact str "0x" + 2 * size lowercase hex digits with its size from `sizes`. */
static PyObject *
py_hex_values(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "hex_values(strings: list, sizes: tuple)");
        return NULL;
    }
    PyObject *strings = args[0], *sizes = args[1];
    Py_ssize_t count = PyList_GET_SIZE(strings);
    if (PyTuple_GET_SIZE(sizes) != count) {
        Py_RETURN_NONE;
    }
    PyObject *values = PyTuple_New(count);
    if (values == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t size = PyLong_AsSsize_t(PyTuple_GET_ITEM(sizes, i));
        if (size < 0) {
            Py_DECREF(values);
            if (PyErr_Occurred()) {
                return NULL;
            }
            PyErr_SetString(PyExc_ValueError, "sizes must be non-negative integers");
            return NULL;
        }
        PyObject *value = hex_value(PyList_GET_ITEM(strings, i), size);
        if (value == NULL) {
            Py_DECREF(values);
            Py_RETURN_NONE;
        }
        PyTuple_SET_ITEM(values, i, value);
    }
    return values;
}

/* --- JSON array items ------------------------------------------------------------------- */

/* Deepest nesting inside an item that array_items follows (JSON parsers stop at a depth too). */
#define MAX_ITEM_DEPTH 64

static int
append_offset(PyObject *list, Py_ssize_t offset)
{
    PyObject *value = PyLong_FromSsize_t(offset);
    if (value == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, value);
    Py_DECREF(value);
    return failed;
}

/* A JSON grammar (RFC 8259) for checking a bulk body's items without building them: each
 * function takes the text from p and returns the end of what it read, or NULL for text it does
 * not accept. It accepts nothing that orjson refuses and refuses some text orjson would take
 * (items nested deeper than MAX_ITEM_DEPTH, numbers that might not fit a double, exponents of
 * more than four digits): such a body goes to orjson whole, which decides it. */

static const unsigned char *json_value(const unsigned char *p, const unsigned char *end, int depth);

static inline const unsigned char *
json_blank(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    return p;
}

/* Four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static int
json_hex4(const unsigned char *p)
{
    int value = 0;
    for (int k = 0; k < 4; k++) {
        int digit = HEX_VALUE[p[k]] >= 0 ? HEX_VALUE[p[k]]
                    : p[k] >= 'A' && p[k] <= 'F' ? p[k] - 'A' + 10
                                                  : -1;
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

/* A string from its opening quote at p: escapes with surrogates in pairs only, no control
 * characters, UTF-8 without overlong forms, surrogates or code points past U+10FFFF. */
static const unsigned char *
json_string(const unsigned char *p, const unsigned char *end)
{
    for (p++; p < end;) {
        unsigned char c = *p;
        if (c == '"') {
            return p + 1;
        }
        if (c < 0x20) {
            return NULL;
        }
        if (c == '\\') {
            if (p + 1 >= end) {
                return NULL;
            }
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u':
                break;
            default:
                return NULL;
            }
            if (p + 6 > end) {
                return NULL;
            }
            int unit = json_hex4(p + 2);
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) {
                return NULL;
            }
            p += 6;
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                if (p + 6 > end || p[0] != '\\' || p[1] != 'u') {
                    return NULL;
                }
                int low = json_hex4(p + 2);
                if (low < 0xDC00 || low > 0xDFFF) {
                    return NULL;
                }
                p += 6;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        /* UTF-8: the first byte sets the length and the range of the second (RFC 3629). */
        int more;
        unsigned char low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            low = c == 0xE0 ? 0xA0 : 0x80;
            high = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            low = c == 0xF0 ? 0x90 : 0x80;
            high = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return NULL;
        }
        if (p + more >= end || p[1] < low || p[1] > high) {
            return NULL;
        }
        for (int k = 2; k <= more; k++) {
            if (p[k] < 0x80 || p[k] > 0xBF) {
                return NULL;
            }
        }
        p += more + 1;
    }
    return NULL;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, below 10^308 in magnitude. */
static const unsigned char *
json_number(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '-') {
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        return NULL;
    }
    long digits = 0; /* of the integer part */
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    long exponent = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int negative = p < end && *p == '-';
        if (p < end && (*p == '-' || *p == '+')) {
            p++;
        }
        int count = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (++count > 4) {
                return NULL;
            }
            exponent = exponent * 10 + (*p - '0');
        }
        if (count == 0) {
            return NULL;
        }
        if (negative) {
            exponent = -exponent;
        }
    }
    /* Below 10^(digits + exponent): finite as a double up to 10^308. */
    return digits + exponent <= 308 ? p : NULL;
}

static const unsigned char *
json_literal(const unsigned char *p, const unsigned char *end, const char *word, size_t size)
{
    return (size_t)(end - p) >= size && memcmp(p, word, size) == 0 ? p + size : NULL;
}

static const unsigned char *
json_value(const unsigned char *p, const unsigned char *end, int depth)
{
    if (p >= end) {
        return NULL;
    }
    switch (*p) {
    case '"':
        return json_string(p, end);
    case 't':
        return json_literal(p, end, "true", 4);
    case 'f':
        return json_literal(p, end, "false", 5);
    case 'n':
        return json_literal(p, end, "null", 4);
    case '[':
    case '{': {
        if (depth >= MAX_ITEM_DEPTH) {
            return NULL;
        }
        unsigned char close = *p == '[' ? ']' : '}';
        p = json_blank(p + 1, end);
        if (p < end && *p == close) {
            return p + 1;
        }
        for (;;) {
            if (close == '}') {
                if (p >= end || *p != '"' || (p = json_string(p, end)) == NULL) {
                    return NULL;
                }
                p = json_blank(p, end);
                if (p >= end || *p != ':') {
                    return NULL;
                }
                p = json_blank(p + 1, end);
            }
            if ((p = json_value(p, end, depth + 1)) == NULL) {
                return NULL;
            }
            p = json_blank(p, end);
            if (p < end && *p == ',') {
                p = json_blank(p + 1, end);
                continue;
            }
            return p < end && *p == close ? p + 1 : NULL;
        }
    }
    default:
        return json_number(p, end);
    }
}

/* The items of the JSON array at data[start] (which must be '['), each checked by the grammar
 * above: [begin0, end0, begin1, end1, ..., after], each item's text without the blanks around
 * it and `after` the offset past the closing ']'; None where the text is not such an array (or
 * is one the grammar leaves to orjson). */
static PyObject *
py_array_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_CheckExact(args[0]) || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "array_items(data: bytes, start: int)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (start < 0 || start >= size || data[start] != '[') {
        Py_RETURN_NONE;
    }
    const unsigned char *end = data + size;
    PyObject *offsets = PyList_New(0);
    if (offsets == NULL) {
        return NULL;
    }
    const unsigned char *p = json_blank(data + start + 1, end);
    if (p < end && *p == ']') {
        if (append_offset(offsets, p + 1 - data) < 0) {
            goto not_an_array;
        }
        return offsets;
    }
    for (;;) {
        const unsigned char *item = p;
        if ((p = json_value(p, end, 0)) == NULL || append_offset(offsets, item - data) < 0
            || append_offset(offsets, p - data) < 0) {
            goto not_an_array;
        }
        p = json_blank(p, end);
        if (p < end && *p == ',') {
            p = json_blank(p + 1, end);
            continue;
        }
        if (p < end && *p == ']') {
            if (append_offset(offsets, p + 1 - data) < 0) {
                goto not_an_array;
            }
            return offsets;
        }
        goto not_an_array;
    }
not_an_array:
    Py_DECREF(offsets);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* --- subject tags: HMAC-SHA256 ----------------------------------------------------------- */

/* SHA-256 (FIPS 180-4) and HMAC (RFC 2104) for subject tags (ledger_node/subject.py), whose
 * messages are short: a tag costs two or three compressions here, against the standard
 * library's per-call setup of a keyed object. A key is absorbed once, into the two midstates
 * after its inner and outer pad blocks (hmac_sha256_key); each tag starts from them.
 * tests/records/test_subject.py holds them to the standard library's hmac. */

static const uint32_t SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static const uint32_t SHA256_IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_compress(uint32_t state[8], const unsigned char block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++) {
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16
               | (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR32(w[t - 15], 7) ^ ROTR32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR32(w[t - 2], 17) ^ ROTR32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5],
             g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ROTR32(e, 6) ^ ROTR32(e, 11) ^ ROTR32(e, 25)) + ((e & f) ^ (~e & g))
                      + SHA256_K[t] + w[t];
        uint32_t t2 = (ROTR32(a, 2) ^ ROTR32(a, 13) ^ ROTR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

/* Finish a SHA-256 whose state has absorbed `before` bytes (a multiple of 64) with the `size`
 * bytes of the concatenation of parts a and b; the digest into out. */
static void
sha256_finish(uint32_t state[8], uint64_t before, const unsigned char *a, Py_ssize_t a_size,
              const unsigned char *b, Py_ssize_t b_size, unsigned char out[32])
{
    unsigned char block[64];
    Py_ssize_t filled = 0;
    const unsigned char *parts[2] = {a, b};
    Py_ssize_t sizes[2] = {a_size, b_size};
    for (int p = 0; p < 2; p++) {
        const unsigned char *data = parts[p];
        Py_ssize_t left = sizes[p];
        while (left > 0) {
            Py_ssize_t take = 64 - filled < left ? 64 - filled : left;
            memcpy(block + filled, data, (size_t)take);
            filled += take;
            data += take;
            left -= take;
            if (filled == 64) {
                sha256_compress(state, block);
                filled = 0;
            }
        }
    }
    uint64_t bits = (before + (uint64_t)a_size + (uint64_t)b_size) * 8;
    block[filled++] = 0x80;
    if (filled > 56) {
        memset(block + filled, 0, (size_t)(64 - filled));
        sha256_compress(state, block);
        filled = 0;
    }
    memset(block + filled, 0, (size_t)(56 - filled));
    for (int k = 0; k < 8; k++) {
        block[56 + k] = (unsigned char)(bits >> (56 - 8 * k));
    }
    sha256_compress(state, block);
    for (int k = 0; k < 8; k++) {
        out[4 * k] = (unsigned char)(state[k] >> 24);
        out[4 * k + 1] = (unsigned char)(state[k] >> 16);
        out[4 * k + 2] = (unsigned char)(state[k] >> 8);
        out[4 * k + 3] = (unsigned char)state[k];
    }
}

/* hmac_sha256_key(key): the 64 bytes a key's tags start from (the SHA-256 states after its
 * inner and outer pad blocks). */
static PyObject *
py_hmac_sha256_key(PyObject *module, PyObject *key)
{
    if (!PyBytes_CheckExact(key)) {
        PyErr_SetString(PyExc_TypeError, "hmac_sha256_key(key: bytes)");
        return NULL;
    }
    unsigned char block[64] = {0};
    Py_ssize_t size = PyBytes_GET_SIZE(key);
    if (size > 64) {
        uint32_t state[8];
        memcpy(state, SHA256_IV, sizeof state);
        sha256_finish(state, 0, (const unsigned char *)PyBytes_AS_STRING(key), size, NULL, 0,
                      block);
    } else {
        memcpy(block, PyBytes_AS_STRING(key), (size_t)size);
    }
    unsigned char pad[64], keyed[64];
    uint32_t state[8];
    for (int pass = 0; pass < 2; pass++) {
        unsigned char fill = pass == 0 ? 0x36 : 0x5c;
        for (int k = 0; k < 64; k++) {
            pad[k] = block[k] ^ fill;
        }
        memcpy(state, SHA256_IV, sizeof state);
        sha256_compress(state, pad);
        memcpy(keyed + 32 * pass, state, 32); /* native order: read back only below */
    }
    return PyBytes_FromStringAndSize((const char *)keyed, 64);
}

/* hmac_sha256(keyed, prefix, text): HMAC-SHA256 of prefix + UTF-8(text) under the key that
 * hmac_sha256_key made `keyed` of. */
static PyObject *
py_hmac_sha256(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_CheckExact(args[0]) || PyBytes_GET_SIZE(args[0]) != 64
        || !PyBytes_CheckExact(args[1]) || !PyUnicode_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "hmac_sha256(keyed: bytes of 64, prefix: bytes, text: str)");
        return NULL;
    }
    Py_ssize_t text_size;
    const char *text = PyUnicode_AsUTF8AndSize(args[2], &text_size);
    if (text == NULL) {
        return NULL;
    }
    const unsigned char *keyed = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    uint32_t state[8];
    unsigned char inner[32], tag[32];
    memcpy(state, keyed, 32);
    sha256_finish(state, 64, (const unsigned char *)PyBytes_AS_STRING(args[1]),
                  PyBytes_GET_SIZE(args[1]), (const unsigned char *)text, text_size, inner);
    memcpy(state, keyed + 32, 32);
    sha256_finish(state, 64, inner, 32, NULL, 0, tag);
    return PyBytes_FromStringAndSize((const char *)tag, 32);
}

/* --- module ----------------------------------------------------------------------------- */

/* A module function predicate(record, latest): the verdict of `check` on the record with the
 * clock of `latest`, the latest POSIX second a fact may carry. */
#define CLOCKED_PREDICATE(name, check)                                                       \
    static PyObject *name(PyObject *module, PyObject *const *args, Py_ssize_t nargs)         \
    {                                                                                        \
        if (nargs != 2 || !PyLong_CheckExact(args[1])) {                                     \
            PyErr_SetString(PyExc_TypeError, #name "(record, latest_seconds: int)");         \
            return NULL;                                                                     \
        }                                                                                    \
        long long latest = PyLong_AsLongLong(args[1]);                                       \
        if (latest == -1 && PyErr_Occurred()) {                                              \
            return NULL;                                                                     \
        }                                                                                    \
        acceptance now = clock_of(latest);                                                        \
        return PyBool_FromLong(check);                                                       \
    }

CLOCKED_PREDICATE(py_invoice_v1, invoice_ok(args[0], 1, &now))
CLOCKED_PREDICATE(py_invoice_v2, invoice_ok(args[0], 2, &now))
CLOCKED_PREDICATE(py_payment_v1, payment_v1_ok(args[0], &now))
CLOCKED_PREDICATE(py_declaration_v1, declaration_v1_ok(args[0], &now))

/* payment_v2(record, latest, foreign_currencies) */
static PyObject *
py_payment_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyLong_CheckExact(args[1]) || !PyFrozenSet_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "payment_v2(record, latest_seconds: int, foreign_currencies: frozenset)");
        return NULL;
    }
    long long latest = PyLong_AsLongLong(args[1]);
    if (latest == -1 && PyErr_Occurred()) {
        return NULL;
    }
    acceptance now = clock_of(latest);
    return PyBool_FromLong(payment_v2_ok(args[0], &now, args[2]));
}
CLOCKED_PREDICATE(py_resident_id, resident_id_ok(args[0], &now))

static PyObject *
py_uscc(PyObject *module, PyObject *value)
{
    return PyBool_FromLong(uscc_ok(value));
}

#define FASTCALL(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef methods[] = {
    {"invoice_v1", FASTCALL(py_invoice_v1), METH_FASTCALL,
     "True only if the invoice.issued/v1 record certainly satisfies its schema."},
    {"invoice_v2", FASTCALL(py_invoice_v2), METH_FASTCALL,
     "True only if the invoice.issued/v2 record certainly satisfies its schema."},
    {"payment_v1", FASTCALL(py_payment_v1), METH_FASTCALL,
     "True only if the payment.settled/v1 record certainly satisfies its schema."},
    {"payment_v2", FASTCALL(py_payment_v2), METH_FASTCALL,
     "True only if the payment.settled/v2 record certainly satisfies its schema."},
    {"declaration_v1", FASTCALL(py_declaration_v1), METH_FASTCALL,
     "True only if the tax.declaration/v1 record certainly satisfies its schema."},
    {"hex_values", FASTCALL(py_hex_values), METH_FASTCALL,
     "The bytes of each 0x-prefixed lowercase hex string of the given sizes, or None."},
    {"array_items", FASTCALL(py_array_items), METH_FASTCALL,
     "Offsets of the items of the JSON array at data[start], and past its end; or None."},
    {"uscc", py_uscc, METH_O, "True if the value is a str holding a valid USCC."},
    {"hmac_sha256_key", py_hmac_sha256_key, METH_O,
     "The 64 bytes HMAC-SHA256 tags under this key start from."},
    {"hmac_sha256", FASTCALL(py_hmac_sha256), METH_FASTCALL,
     "HMAC-SHA256 of prefix + UTF-8(text) under a key made ready by hmac_sha256_key."},
    {"resident_id", FASTCALL(py_resident_id), METH_FASTCALL,
     "True if the value is a str holding a valid resident ID number at that clock."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_fastpaths",
    .m_doc = "Compiled fast paths of record validation and bundle parsing.",
    .m_size = -1,
    .m_methods = methods,
};

#define INTERN(var, text)                                                                    \
    if ((var = PyUnicode_InternFromString(text)) == NULL) {                                  \
        return NULL;                                                                         \
    }

/* {rate: (per_mille, general, small_scale, allowed on special invoices, ((from, until), ...))}
 * with dates as ISO strings or None, for the test that compares it with amounts.py. */
static PyObject *
rate_table(void)
{
    PyObject *table = PyDict_New();
    for (size_t i = 0; table != NULL && i < RATE_COUNT; i++) {
        const rate_entry *e = &RATES[i];
        PyObject *periods = PyTuple_New(e->periods);
        for (int k = 0; periods != NULL && k < e->periods; k++) {
            PyObject *period = Py_BuildValue("(zz)", e->from[k], e->until[k]);
            if (period == NULL) {
                Py_CLEAR(periods);
                break;
            }
            PyTuple_SET_ITEM(periods, k, period);
        }
        PyObject *row = periods == NULL ? NULL
                                        : Py_BuildValue("(iOOON)", e->per_mille,
                                                        e->flags & GENERAL ? Py_True : Py_False,
                                                        e->flags & SMALL_SCALE ? Py_True : Py_False,
                                                        e->flags & NOT_ON_SPECIAL ? Py_False : Py_True,
                                                        periods);
        if (row == NULL || PyDict_SetItemString(table, e->text, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(table);
            break;
        }
        Py_DECREF(row);
    }
    return table;
}

/* The identifier tables: ({authority: categories}, (mainland provinces...)). */
static PyObject *
identifier_tables(void)
{
    PyObject *categories = PyDict_New();
    for (size_t i = 0; categories != NULL && i < USCC_AUTHORITY_COUNT; i++) {
        PyObject *value = PyUnicode_FromString(USCC_CATEGORIES[i][1]);
        if (value == NULL || PyDict_SetItemString(categories, USCC_CATEGORIES[i][0], value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(categories);
            break;
        }
        Py_DECREF(value);
    }
    PyObject *provinces = PyTuple_New(PROVINCE_COUNT);
    for (size_t i = 0; provinces != NULL && i < PROVINCE_COUNT; i++) {
        PyObject *code = PyUnicode_FromString(PROVINCES[i]);
        if (code == NULL) {
            Py_CLEAR(provinces);
            break;
        }
        PyTuple_SET_ITEM(provinces, i, code);
    }
    if (categories == NULL || provinces == NULL) {
        Py_XDECREF(categories);
        Py_XDECREF(provinces);
        return NULL;
    }
    return Py_BuildValue("(NN)", categories, provinces);
}

/* PyModule_AddObjectRef for a new reference (or NULL after a failure), which it releases. */
static int
add_owned(PyObject *module, const char *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int result = PyModule_AddObjectRef(module, name, value);
    Py_DECREF(value);
    return result;
}

PyMODINIT_FUNC
PyInit__fastpaths(void)
{
    init_identifiers();
    init_rates();
    init_hex_values();
    INTERN(K_invoice_number, "invoice_number");
    INTERN(K_issued_at, "issued_at");
    INTERN(K_invoice_type, "invoice_type");
    INTERN(K_seller, "seller");
    INTERN(K_buyer, "buyer");
    INTERN(K_lines, "lines");
    INTERN(K_total_amount, "total_amount");
    INTERN(K_total_tax, "total_tax");
    INTERN(K_total, "total");
    INTERN(K_remarks, "remarks");
    INTERN(K_red_of, "red_of");
    INTERN(K_name, "name");
    INTERN(K_tax_id, "tax_id");
    INTERN(K_id_type, "id_type");
    INTERN(K_tax_code, "tax_code");
    INTERN(K_quantity, "quantity");
    INTERN(K_unit_price, "unit_price");
    INTERN(K_amount, "amount");
    INTERN(K_rate, "rate");
    INTERN(K_tax, "tax");
    INTERN(K_discount, "discount");
    INTERN(K_payment_id, "payment_id");
    INTERN(K_payer, "payer");
    INTERN(K_payee, "payee");
    INTERN(K_currency, "currency");
    INTERN(K_value_date, "value_date");
    INTERN(K_drawer, "drawer");
    INTERN(K_issued_by, "issued_by");
    INTERN(K_confirmation_number, "confirmation_number");
    INTERN(K_taxpayer_type, "taxpayer_type");
    INTERN(K_number, "number");
    INTERN(K_issued_on, "issued_on");
    INTERN(K_settles, "settles");
    INTERN(K_amount_cny, "amount_cny");
    INTERN(K_uscc, "uscc");
    INTERN(K_period, "period");
    INTERN(K_sales, "sales");
    INTERN(K_output_tax, "output_tax");
    INTERN(K_input_tax, "input_tax");
    INTERN(K_credit_brought_forward, "credit_brought_forward");
    INTERN(K_tax_payable, "tax_payable");
    INTERN(K_credit_carried_forward, "credit_carried_forward");
    INTERN(K_filed_on, "filed_on");
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    /* The limits and tables restated here, for the tests that compare them with Python's. */
    if (add_owned(module, "RATE_TABLE", rate_table()) < 0
        || add_owned(module, "IDENTIFIER_TABLES", identifier_tables()) < 0
        || PyModule_AddIntConstant(module, "MAX_LINES", MAX_LINES) < 0
        || PyModule_AddIntConstant(module, "MAX_NAME_LENGTH", MAX_NAME_LENGTH) < 0
        || PyModule_AddIntConstant(module, "MAX_REMARKS_LENGTH", MAX_REMARKS_LENGTH) < 0
        || PyModule_AddStringConstant(module, "USCC_ALPHABET", USCC_ALPHABET) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
