/* Compiled "certainly valid?" predicates for the two schemas that dominate the traffic:
 * invoice.issued/v1 and payment.settled/v1 (see the fast path section of records/validation.py), and
 * the hex decoding of a proof bundle's fields (see the fast parse in bundle.py).
 *
 * A predicate never raises and never reports: it returns True only for a record that the
 * full, error-collecting checks in records/validation.py accept, and False for anything else,
 * including valid records it does not want to decide (very long decimals, say). Then the
 * full checks run and say exactly what is wrong. tests/records/test_fastpath.py holds these
 * functions to that contract with generated and mutated records.
 *
 * Every rule here restates one of validation.py's: formats are matched by hand instead of by
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
    *K_tax, *K_discount, *K_payment_id, *K_payer, *K_payee, *K_currency, *K_value_date;

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
    i128 value = 0;
    while (i < n && is_digit(p[i])) {
        value = value * 10 + (p[i] - '0');
        i++;
    }
    Py_ssize_t whole = i - start;
    if (whole < 1 || whole > 16 || (whole > 1 && p[start] == '0')) {
        return 0;
    }
    int fraction = 0;
    if (i < n) {
        if (p[i] != '.') {
            return 0;
        }
        i++;
        while (i < n && is_digit(p[i])) {
            value = value * 10 + (p[i] - '0');
            i++;
            fraction++;
        }
        if (fraction < 1 || fraction > 13 || i != n) {
            return 0;
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

/* Tax and levy rates in thousandths: RATE_PER_MILLE in amounts.py, which a test compares with
 * this table (the module exports it as RATE_PER_MILLE). */
static const struct {
    const char *text;
    int per_mille;
} RATES[] = {
    {"0.13", 130}, {"0.09", 90}, {"0.06", 60},  {"0.05", 50},   {"0.03", 30},
    {"0.01", 10},  {"0.015", 15}, {"0.005", 5}, {"0", 0},       {"exempt", 0},
    {"not_taxable", 0},
};
#define RATE_COUNT (sizeof RATES / sizeof RATES[0])

/* The rate's thousandths; -1 if not a rate. */
static int
rate_per_mille(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n)) {
        return -1;
    }
    for (size_t i = 0; i < RATE_COUNT; i++) {
        if ((size_t)n == strlen(RATES[i].text) && memcmp(p, RATES[i].text, (size_t)n) == 0) {
            return RATES[i].per_mille;
        }
    }
    return -1;
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

/* YYYY-MM-DD at p, a real date (what date.fromisoformat accepts of that shape). */
static int
date_at(const unsigned char *p)
{
    if (p[4] != '-' || p[7] != '-') {
        return 0;
    }
    return real_date(number_at(p, 4), number_at(p + 5, 2), number_at(p + 8, 2));
}

static int
date_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    return ascii(s, &p, &n) && n == 10 && date_at(p);
}

/* YYYY-MM-DDTHH:MM:SS(.f{1,6})?(Z|±HH:MM), a real instant, offset below 24 h. */
static int
datetime_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n < 20 || !date_at(p) || p[10] != 'T' || p[13] != ':'
        || p[16] != ':') {
        return 0;
    }
    int hour = number_at(p + 11, 2), minute = number_at(p + 14, 2),
        second = number_at(p + 17, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return 0;
    }
    Py_ssize_t i = 19;
    if (p[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && is_digit(p[i])) {
            i++;
        }
        if (i - start < 1 || i - start > 6) {
            return 0;
        }
    }
    if (i == n - 1) {
        return p[i] == 'Z';
    }
    if (i != n - 6 || (p[i] != '+' && p[i] != '-') || p[i + 3] != ':') {
        return 0;
    }
    int oh = number_at(p + i + 1, 2), om = number_at(p + i + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

/* --- identifiers ------------------------------------------------------------------------ */

/* GB 32100 character values (index in 0123456789ABCDEFGHJKLMNPQRTUWXY), -1 outside it. */
static signed char USCC_VALUE[256];

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static void
init_uscc_values(void)
{
    memset(USCC_VALUE, -1, sizeof USCC_VALUE);
    for (int i = 0; USCC_ALPHABET[i]; i++) {
        USCC_VALUE[(unsigned char)USCC_ALPHABET[i]] = (signed char)i;
    }
}

/* A USCC: shape (alphabet, digits at positions 3-8) and the GB 32100 check character. */
static int
uscc_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 18) {
        return 0;
    }
    int total = 0, weight = 1;
    for (int i = 0; i < 18; i++) {
        int value = USCC_VALUE[p[i]];
        if (value < 0 || (i >= 2 && i < 8 && !is_digit(p[i]))) {
            return 0;
        }
        if (i < 17) {
            total += value * weight;
            weight = weight * 3 % 31;
        }
        else {
            total += value;
        }
    }
    return total % 31 == 0;
}

/* A resident ID card number: [1-9][0-9]{16}[0-9X], a real birth date, ISO 7064 MOD 11-2. */
static int
resident_id_ok(PyObject *s)
{
    const unsigned char *p;
    Py_ssize_t n;
    if (!ascii(s, &p, &n) || n != 18 || p[0] == '0') {
        return 0;
    }
    int total = 0;
    for (int i = 0; i < 17; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
        total += (p[i] - '0') * ((1 << (17 - i)) % 11);
    }
    if (!real_date(number_at(p + 6, 4), number_at(p + 10, 2), number_at(p + 12, 2))) {
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

enum party { PARTY_NONE, PARTY_USCC, PARTY_RESIDENT, PARTY_LEGACY };

/* A party {name, id_type, tax_id} (exactly those fields); which kind of identifier. */
static enum party
party(PyObject *obj)
{
    if (obj == NULL || !PyDict_CheckExact(obj) || PyDict_GET_SIZE(obj) != 3) {
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
    if (equals(id_type, "uscc")) {
        return uscc_ok(tax_id) ? PARTY_USCC : PARTY_NONE;
    }
    if (equals(id_type, "resident_id")) {
        return resident_id_ok(tax_id) ? PARTY_RESIDENT : PARTY_NONE;
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

/* The lines of an invoice whose amounts have the sign `sign`; their sums. */
static int
lines_ok(PyObject *lines, int sign, i128 *amount_sum, i128 *tax_sum)
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
    i128 amounts = 0, taxes = 0;
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
        int per_mille = rate_per_mille(rate);
        if (per_mille < 0 || !line_name_ok(name) || !digits_ok(code, 19)
            || !money(amount, &cents) || !money(tax, &tax_cents)) {
            return 0;
        }
        if (discount == NULL) {
            /* An ordinary line: exactly its seven fields. */
            if (size != 7 || quantity == NULL || price == NULL || cents * sign <= 0
                || !product_ok(quantity, price, cents)) {
                return 0;
            }
            have_previous = 1;
            previous_amount = cents;
            previous_rate = rate;
            previous_code = code;
        }
        else {
            /* A discount of the line before: same rate and tax code, opposite sign, no
             * larger; quantity and unit price both or neither. */
            if (discount != Py_True || !have_previous) {
                return 0;
            }
            if (size == 8) {
                if (quantity == NULL || price == NULL || !product_ok(quantity, price, cents)) {
                    return 0;
                }
            }
            else if (size != 6) {
                return 0;
            }
            int same_rate = PyUnicode_Compare(rate, previous_rate) == 0;
            int same_code = PyUnicode_Compare(code, previous_code) == 0;
            if (!same_rate || !same_code || cents * sign >= 0
                || (cents < 0 ? -cents : cents)
                       > (previous_amount < 0 ? -previous_amount : previous_amount)) {
                return 0;
            }
            have_previous = 0;
        }
        if (per_mille) {
            /* round half up of amount × rate, within one cent */
            i128 product = (i128)cents * per_mille;
            i128 expected = ((product < 0 ? -product : product) * 2 + 1000) / 2000;
            if (product < 0) {
                expected = -expected;
            }
            i128 diff = (i128)tax_cents - expected;
            if (diff > 1 || diff < -1) {
                return 0;
            }
        }
        else if (tax_cents != 0) {
            return 0;
        }
        amounts += cents;
        taxes += tax_cents;
    }
    *amount_sum = amounts;
    *tax_sum = taxes;
    return 1;
}

static int
invoice_ok(PyObject *r)
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
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    /* Nine required fields, the two optional ones, nothing else. */
    if (number == NULL || issued == NULL || itype == NULL || seller == NULL || buyer == NULL
        || lines == NULL || total_amount == NULL || total_tax == NULL || total == NULL
        || PyDict_GET_SIZE(r) != 9 + (remarks != NULL) + (red_of != NULL)) {
        return 0;
    }
    int special = equals(itype, "special");
    if (!digits_ok(number, 20) || !datetime_ok(issued)
        || !(special || equals(itype, "ordinary")) || !company_ok(seller)) {
        return 0;
    }
    enum party buyer_kind = party(buyer);
    if (buyer_kind == PARTY_NONE || (buyer_kind == PARTY_RESIDENT && special)) {
        return 0;
    }
    if (remarks != NULL && !text_ok(remarks, MAX_REMARKS_LENGTH)) {
        return 0;
    }
    int sign = 1;
    if (red_of != NULL) {
        if (!digits_ok(red_of, 20) || PyUnicode_Compare(red_of, number) == 0) {
            return 0;
        }
        sign = -1;
    }
    int64_t ta, tt, tot;
    if (!money(total_amount, &ta) || !money(total_tax, &tt) || !money(total, &tot)) {
        return 0;
    }
    i128 amount_sum, tax_sum;
    if (!lines_ok(lines, sign, &amount_sum, &tax_sum)) {
        return 0;
    }
    if (ta != amount_sum || tt != tax_sum || tot != amount_sum + tax_sum) {
        return 0;
    }
    return sign > 0 || (ta < 0 && tot < 0);
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
payment_ok(PyObject *r)
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
    return payment_id_ok(payment_id) && digits_ok(number, 20) && party(payer) != PARTY_NONE
           && company_ok(payee) && money(amount, &cents) && cents > 0
           && equals(currency, "CNY") && date_ok(value_date);
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

/* --- module ----------------------------------------------------------------------------- */

/* A module function returning the verdict of a predicate on its one argument. */
#define PREDICATE(name, check)                                                               \
    static PyObject *name(PyObject *module, PyObject *value)                                 \
    {                                                                                        \
        return PyBool_FromLong(check(value));                                                \
    }

PREDICATE(py_invoice, invoice_ok)
PREDICATE(py_payment, payment_ok)
PREDICATE(py_uscc, uscc_ok)
PREDICATE(py_resident_id, resident_id_ok)

static PyMethodDef methods[] = {
    {"invoice", py_invoice, METH_O,
     "True only if the invoice.issued/v1 record certainly satisfies its schema."},
    {"payment", py_payment, METH_O,
     "True only if the payment.settled/v1 record certainly satisfies its schema."},
    {"hex_values", (PyCFunction)(void (*)(void))py_hex_values, METH_FASTCALL,
     "The bytes of each 0x-prefixed lowercase hex string of the given sizes, or None."},
    {"uscc", py_uscc, METH_O, "True if the value is a str holding a valid USCC."},
    {"resident_id", py_resident_id, METH_O,
     "True if the value is a str holding a valid resident ID card number."},
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

PyMODINIT_FUNC
PyInit__fastpaths(void)
{
    init_uscc_values();
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
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    /* The limits and rates restated here, for the test that compares them with Python's. */
    PyObject *rates = PyDict_New();
    int failed = rates == NULL;
    for (size_t i = 0; !failed && i < RATE_COUNT; i++) {
        PyObject *value = PyLong_FromLong(RATES[i].per_mille);
        failed = value == NULL || PyDict_SetItemString(rates, RATES[i].text, value) < 0;
        Py_XDECREF(value);
    }
    if (failed || PyModule_AddObjectRef(module, "RATE_PER_MILLE", rates) < 0
        || PyModule_AddIntConstant(module, "MAX_LINES", MAX_LINES) < 0
        || PyModule_AddIntConstant(module, "MAX_NAME_LENGTH", MAX_NAME_LENGTH) < 0
        || PyModule_AddIntConstant(module, "MAX_REMARKS_LENGTH", MAX_REMARKS_LENGTH) < 0
        || PyModule_AddStringConstant(module, "USCC_ALPHABET", USCC_ALPHABET) < 0) {
        Py_XDECREF(rates);
        Py_DECREF(module);
        return NULL;
    }
    Py_DECREF(rates);
    return module;
}
