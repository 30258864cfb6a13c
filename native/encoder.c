/* Passerelle's message encoder in C: the twin of native/pure.py, result for result.
 *
 * Compiled by cffi in API mode at build time (native/_build.py), which puts the tables
 * generated from native/tables.py in front of this file. No callbacks, nothing executable
 * is written at run time.
 *
 * Every function takes its input as (pointer, length) and writes at most the capacity its
 * caller was told to provide (documented per function); nothing reads past `n`. Text comes
 * in as UTF-8 (Python's `surrogatepass` form, so lone surrogates arrive as 3-octet
 * sequences), but any octets are safe.
 */

#define PE_ESC 0x1B
#define PE_UNKNOWN 0x3F
#define PE_NONE 0xFF

/* Which generated main table: Kannel's default (with c cedilla on 0x09), the strict
 * default, Turkish, Portuguese. */
static int pe_main_index(int locking, int single)
{
    if (locking == 0)
        return single == 0 ? 0 : 1;
    return locking == 1 ? 2 : 3;
}

static int pe_tables_ok(int locking, int single)
{
    return (locking == 0 || locking == 1 || locking == 3) && single >= 0 && single <= 3;
}

static int pe_find(const struct pe_pair *pairs, size_t count, uint32_t cp)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (pairs[mid].cp == cp)
            return pairs[mid].code;
        if (pairs[mid].cp < cp)
            low = mid + 1;
        else
            high = mid;
    }
    return -1;
}

/* Septets for one code point: 1 (main table), 2 (escape + shift table) or 0 (unmapped). */
static int pe_map(int main, int single, uint32_t cp, unsigned char *septets)
{
    int code;
    if (cp < 0x100) {
        code = pe_main_lo[main][cp];
        if (code != PE_NONE) {
            septets[0] = (unsigned char)code;
            return 1;
        }
        code = pe_shift_lo[single][cp];
        if (code != PE_NONE) {
            septets[0] = PE_ESC;
            septets[1] = (unsigned char)code;
            return 2;
        }
        return 0;
    }
    if (cp > 0xFFFF)
        return 0;
    code = pe_find(pe_main_hi[main], pe_main_hi_count[main], cp);
    if (code >= 0) {
        septets[0] = (unsigned char)code;
        return 1;
    }
    code = pe_find(pe_shift_hi[single], pe_shift_hi_count[single], cp);
    if (code >= 0) {
        septets[0] = PE_ESC;
        septets[1] = (unsigned char)code;
        return 2;
    }
    return 0;
}

/* UTF-8 (or anything) → unpacked septets, Kannel's decoder (see pure.utf8_to_gsm).
 * `out` may be NULL (count only); else it holds 2 * n octets. `unmapped` counts the
 * characters that did not have septets of their own (any `?` stand-in, and in Kannel's
 * mode the lead octet of a 4-octet sequence). Returns the septet count, or (size_t)-1 for
 * tables we do not have. */
static size_t pe_gsm(const unsigned char *in, size_t n, unsigned char *out, int locking,
                     int single, size_t *unmapped, int stop)
{
    size_t i = 0, len = 0, missing = 0;
    int main, national;
    const unsigned char *lo;
    unsigned char septets[2];

    if (!pe_tables_ok(locking, single))
        return (size_t)-1;
    main = pe_main_index(locking, single);
    national = locking != 0 || single != 0;
    lo = pe_main_lo[main];
    while (i < n) {
        unsigned char octet = in[i];
        uint32_t cp;
        int k;
        if (octet < 0x80 && lo[octet] != PE_NONE) { /* the common case: one septet */
            if (out)
                out[len] = lo[octet];
            len++;
            i++;
            continue;
        }
        if ((octet & 0xE0) == 0xC0) {
            if (i + 1 >= n)
                break;
            cp = ((uint32_t)(octet & 0x1F) << 6) | (in[i + 1] & 0x3F);
            i += 2;
        } else if ((octet & 0xF0) == 0xE0) {
            if (i + 2 >= n)
                break;
            cp = ((uint32_t)(octet & 0x0F) << 12) | ((uint32_t)(in[i + 1] & 0x3F) << 6)
                 | (in[i + 2] & 0x3F);
            i += 3;
        } else if ((octet & 0xF8) == 0xF0 && national) {
            if (i + 3 >= n)
                break;
            i += 4;
            if (out)
                out[len] = PE_UNKNOWN;
            len++;
            missing++;
            if (stop)
                break;
            continue;
        } else {
            if ((octet & 0xF8) == 0xF0) {
                missing++; /* a character beyond U+FFFF: never GSM, whatever its octets give */
                if (stop)
                    break;
            }
            cp = octet;
            i += 1;
        }
        k = pe_map(main, single, cp, septets);
        if (k == 0) {
            septets[0] = PE_UNKNOWN;
            k = 1;
            missing++;
            if (stop)
                break;
        }
        if (out) {
            out[len] = septets[0];
            if (k == 2)
                out[len + 1] = septets[1];
        }
        len += (size_t)k;
    }
    if (unmapped)
        *unmapped = missing;
    return len;
}

size_t pe_utf8_to_gsm(const char *in, size_t n, char *out, int locking, int single,
                      size_t *unmapped)
{
    return pe_gsm((const unsigned char *)in, n, (unsigned char *)out, locking, single, unmapped,
                  0);
}

static size_t pe_put_utf8(unsigned char *out, size_t len, uint32_t cp)
{
    if (cp < 0x80) {
        out[len++] = (unsigned char)cp;
    } else if (cp < 0x800) {
        out[len++] = (unsigned char)(0xC0 | (cp >> 6));
        out[len++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[len++] = (unsigned char)(0xE0 | (cp >> 12));
        out[len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[len++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        out[len++] = (unsigned char)(0xF0 | (cp >> 18));
        out[len++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[len++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
    return len;
}

/* Unpacked septets → UTF-8 text (see pure.from_gsm). `out` holds 3 * n octets. */
size_t pe_from_gsm(const char *in_chars, size_t n, char *out_chars, int locking, int single)
{
    const unsigned char *in = (const unsigned char *)in_chars;
    unsigned char *out = (unsigned char *)out_chars;
    size_t i = 0, len = 0;
    int main;
    if (!pe_tables_ok(locking, single))
        return (size_t)-1;
    main = pe_main_index(locking, single);
    while (i < n) {
        unsigned char octet = in[i++];
        unsigned char code;
        if (octet != PE_ESC) {
            if (octet < 0x80)
                len = pe_put_utf8(out, len, pe_decode_main[main][octet]);
            continue;
        }
        if (i >= n) {
            out[len++] = ' ';
            break;
        }
        code = in[i++];
        if (code == PE_ESC || code >= 0x80) {
            out[len++] = ' ';
        } else {
            uint32_t cp = pe_decode_shift[single][code];
            len = pe_put_utf8(out, len, cp ? cp : pe_decode_main[main][code]);
        }
    }
    return len;
}

/* UTF-8 → UTF-16BE (see pure.to_ucs2). `out` holds 2 * n octets. A lone surrogate, a
 * value beyond U+10FFFF and an octet that starts no sequence become `?`. */
static size_t pe_ucs2(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t i = 0, len = 0;
    while (i < n) {
        unsigned char octet = in[i];
        uint32_t cp;
        if (octet < 0x80) {
            cp = octet;
            i += 1;
        } else if ((octet & 0xE0) == 0xC0 && i + 1 < n) {
            cp = ((uint32_t)(octet & 0x1F) << 6) | (in[i + 1] & 0x3F);
            i += 2;
        } else if ((octet & 0xF0) == 0xE0 && i + 2 < n) {
            cp = ((uint32_t)(octet & 0x0F) << 12) | ((uint32_t)(in[i + 1] & 0x3F) << 6)
                 | (in[i + 2] & 0x3F);
            i += 3;
        } else if ((octet & 0xF8) == 0xF0 && i + 3 < n) {
            cp = ((uint32_t)(octet & 0x07) << 18) | ((uint32_t)(in[i + 1] & 0x3F) << 12)
                 | ((uint32_t)(in[i + 2] & 0x3F) << 6) | (in[i + 3] & 0x3F);
            i += 4;
        } else {
            cp = PE_UNKNOWN;
            i += 1;
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            cp = PE_UNKNOWN;
        if (cp >= 0x10000) {
            uint32_t high = 0xD800 + ((cp - 0x10000) >> 10);
            uint32_t low = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            out[len++] = (unsigned char)(high >> 8);
            out[len++] = (unsigned char)(high & 0xFF);
            out[len++] = (unsigned char)(low >> 8);
            out[len++] = (unsigned char)(low & 0xFF);
        } else {
            out[len++] = (unsigned char)(cp >> 8);
            out[len++] = (unsigned char)(cp & 0xFF);
        }
    }
    return len;
}

size_t pe_utf8_to_ucs2(const char *in, size_t n, char *out)
{
    return pe_ucs2((const unsigned char *)in, n, (unsigned char *)out);
}

/* UTF-16BE → UTF-8 text, `?` per octet of a broken unit with CPython's error ranges (see
 * pure.from_ucs2). `out` holds 2 * n octets. */
size_t pe_from_ucs2(const char *in_chars, size_t n, char *out_chars)
{
    const unsigned char *in = (const unsigned char *)in_chars;
    unsigned char *out = (unsigned char *)out_chars;
    size_t i = 0, len = 0;
    while (i < n) {
        uint32_t unit;
        if (n - i < 2) {
            out[len++] = '?';
            break;
        }
        unit = ((uint32_t)in[i] << 8) | in[i + 1];
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            out[len++] = '?';
            out[len++] = '?';
            i += 2;
        } else if (unit >= 0xD800 && unit <= 0xDBFF) {
            uint32_t low;
            if (n - i < 4) {
                while (i < n) {
                    out[len++] = '?';
                    i++;
                }
                break;
            }
            low = ((uint32_t)in[i + 2] << 8) | in[i + 3];
            if (low >= 0xDC00 && low <= 0xDFFF) {
                len = pe_put_utf8(out, len, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
                i += 4;
            } else {
                out[len++] = '?';
                out[len++] = '?';
                i += 2;
            }
        } else {
            len = pe_put_utf8(out, len, unit);
            i += 2;
        }
    }
    return len;
}

/* Septets → packed octets after `fill` zero bits. `out` holds `cap` octets, which must be
 * (7 * n + fill + 7) / 8; returns that size, or (size_t)-1 on bad arguments. */
size_t pe_pack7(const char *in_chars, size_t n, unsigned fill, char *out_chars, size_t cap)
{
    const unsigned char *in = (const unsigned char *)in_chars;
    unsigned char *out = (unsigned char *)out_chars;
    size_t size, k, bit;
    if (fill > 6 || n > ((size_t)-1 - 14) / 7)
        return (size_t)-1;
    size = (7 * n + fill + 7) / 8;
    if (cap < size)
        return (size_t)-1;
    memset(out, 0, size);
    bit = fill;
    for (k = 0; k < n; k++, bit += 7) {
        unsigned septet = in[k] & 0x7F;
        size_t octet = bit >> 3;
        unsigned shift = (unsigned)(bit & 7);
        out[octet] |= (unsigned char)((septet << shift) & 0xFF);
        if (shift > 1)
            out[octet + 1] |= (unsigned char)(septet >> (8 - shift));
    }
    return size;
}

/* Packed octets → `count` septets after `fill` bits; `out` holds `count` octets. Returns
 * `count`, or (size_t)-1 when the octets do not hold that many. */
size_t pe_unpack7(const char *in_chars, size_t n, size_t count, unsigned fill, char *out_chars)
{
    const unsigned char *in = (const unsigned char *)in_chars;
    unsigned char *out = (unsigned char *)out_chars;
    size_t k, bit;
    if (fill > 6 || n > (size_t)-1 / 8 || count > (8 * n) / 7 || 7 * count + fill > 8 * n)
        return (size_t)-1;
    bit = fill;
    for (k = 0; k < count; k++, bit += 7) {
        size_t octet = bit >> 3;
        unsigned shift = (unsigned)(bit & 7);
        unsigned value = (unsigned)in[octet] >> shift;
        if (shift > 1)
            value |= (unsigned)in[octet + 1] << (8 - shift);
        out[k] = (unsigned char)(value & 0x7F);
    }
    return count;
}

/* May a part end at `pos` (< n)? Not inside an escape pair (7-bit: an odd run of ESC octets
 * just before), not at an odd octet or between the halves of a surrogate pair (UCS-2).
 * `start` is a place a part may begin (0 or an earlier cut), so pairs start afresh there and
 * the run need not be followed further back: the scan stays within one part. */
static int pe_is_cut(const unsigned char *d, size_t n, int coding, size_t pos, size_t start)
{
    if (pos >= n)
        return 1;
    if (coding == 0) {
        size_t run = 0;
        while (run < pos - start && d[pos - run - 1] == PE_ESC)
            run++;
        return (run & 1) == 0;
    }
    if (coding == 2) {
        if (pos & 1)
            return 0;
        return !(pos >= 2 && pos + 1 < n && d[pos - 2] >= 0xD8 && d[pos - 2] <= 0xDB
                 && d[pos] >= 0xDC && d[pos] <= 0xDF);
    }
    return 1;
}

static size_t pe_cut(const unsigned char *d, size_t n, int coding, size_t start, size_t limit)
{
    size_t end;
    if (limit >= n - start)
        return n;
    end = start + limit;
    while (end > start && !pe_is_cut(d, n, coding, end, start))
        end--;
    return end;
}

/* Kannel's sms_split part ends (see pure.cuts). Writes at most `cap` ends to `out` and
 * returns how many parts there are (call again with a larger `out` when that is more). */
static size_t pe_cut_all(const unsigned char *d, size_t n, int coding, size_t room,
                         size_t suffix, size_t max_parts, size_t *out, size_t cap)
{
    size_t count = 0, start = 0;
    if (max_parts == 0)
        return 0;
    for (;;) {
        size_t end;
        int last;
        if (n - start <= room) {
            if (count < cap)
                out[count] = n;
            return count + 1;
        }
        last = count + 1 >= max_parts;
        end = pe_cut(d, n, coding, start, last ? room : (room > suffix ? room - suffix : 0));
        if (count < cap)
            out[count] = end;
        count++;
        start = end;
        if (last)
            return count;
    }
}

size_t pe_cuts(const char *d, size_t n, int coding, size_t room, size_t suffix,
               size_t max_parts, size_t *out, size_t cap)
{
    return pe_cut_all((const unsigned char *)d, n, coding, room, suffix, max_parts, out, cap);
}

static size_t pe_room(int coding, size_t max_octets, size_t udh_octets)
{
    size_t free = max_octets > udh_octets ? max_octets - udh_octets : 0;
    return coding == 0 ? free * 8 / 7 : free;
}

/* Text (UTF-8) → coding (-1: GSM when it all maps, else UCS-2), user data and part ends in
 * one call (see pure.encode_split). `out` holds 2 * n octets; `result` holds 2 + `cap`
 * entries: the user data's length, the coding used, then up to `cap` part ends. Returns the
 * number of parts (ends beyond `cap` are not written), 0 on bad arguments. */
size_t pe_encode_split(const char *in_chars, size_t n, int coding, int locking, int single,
                       size_t udh_octets, size_t split_udh_octets, size_t max_octets,
                       size_t max_parts, char *out_chars, size_t *result, size_t cap)
{
    const unsigned char *in = (const unsigned char *)in_chars;
    unsigned char *out = (unsigned char *)out_chars;
    size_t len;
    if (!pe_tables_ok(locking, single) || max_parts == 0)
        return 0;
    if (coding == -1) {
        size_t missing = 0;
        pe_gsm(in, n, NULL, locking, single, &missing, 1); /* the first miss decides */
        coding = missing ? 2 : 0;
    }
    if (coding == 0)
        len = pe_gsm(in, n, out, locking, single, NULL, 0);
    else if (coding == 2)
        len = pe_ucs2(in, n, out);
    else
        return 0;
    result[0] = len;
    result[1] = (size_t)coding;
    if (len <= pe_room(coding, max_octets, udh_octets)) {
        if (cap > 0)
            result[2] = len;
        return 1;
    }
    return pe_cut_all(out, len, coding, pe_room(coding, max_octets, split_udh_octets), 0,
                      max_parts, result + 2, cap);
}
