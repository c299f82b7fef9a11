/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-quantity.h"

/* A decimal number "123", "1.5", ".5" split into its integer part and its fraction digits. */
typedef struct {
  guint64 integer;
  guint64 fraction;   /* fraction digits as an integer, trailing zeros removed */
  guint fraction_len; /* number of digits in @fraction */
  gboolean truncated; /* nonzero digits beyond MAX_FRACTION_DIGITS were dropped */
} Decimal;

#define MAX_FRACTION_DIGITS 18

/* Reads digits [.digits] from *s; advances *s.  FALSE on no digits or overflow. */
static gboolean
parse_decimal (const char **s, Decimal *d, gboolean *overflow)
{
  const char *p = *s;
  gboolean any = FALSE;
  char frac[MAX_FRACTION_DIGITS + 1];
  guint flen = 0;

  memset (d, 0, sizeof *d);
  *overflow = FALSE;
  while (g_ascii_isdigit (*p))
    {
      if (!g_uint64_checked_mul (&d->integer, d->integer, 10) ||
          !g_uint64_checked_add (&d->integer, d->integer, (guint64) (*p - '0')))
        *overflow = TRUE;
      any = TRUE;
      p++;
    }
  if (*p == '.')
    {
      p++;
      while (g_ascii_isdigit (*p))
        {
          if (flen < MAX_FRACTION_DIGITS)
            frac[flen++] = *p;
          else if (*p != '0')
            d->truncated = TRUE;
          any = TRUE;
          p++;
        }
    }
  while (flen > 0 && frac[flen - 1] == '0')
    flen--;
  for (guint i = 0; i < flen; i++)
    d->fraction = d->fraction * 10 + (guint64) (frac[i] - '0');
  d->fraction_len = flen;
  *s = p;
  return any;
}

static guint64
pow10_u64 (guint n)
{
  guint64 r = 1;

  while (n-- > 0)
    r *= 10;
  return r;
}

static guint64
gcd_u64 (guint64 a, guint64 b)
{
  while (b != 0)
    {
      guint64 t = a % b;
      a = b;
      b = t;
    }
  return a;
}

typedef enum { SCALE_OK, SCALE_INEXACT, SCALE_OVERFLOW } ScaleResult;

/* d * mult as an exact integer no larger than G_MAXINT64. */
static ScaleResult
scale (const Decimal *d, guint64 mult, gint64 *ret)
{
  guint64 whole, frac = 0;

  if (d->truncated)
    return SCALE_INEXACT;
  if (!g_uint64_checked_mul (&whole, d->integer, mult))
    return SCALE_OVERFLOW;
  if (d->fraction_len > 0)
    {
      guint64 den = pow10_u64 (d->fraction_len);
      guint64 g = gcd_u64 (mult, den);
      guint64 m = mult / g, dd = den / g;

      /* fraction * m / dd is an integer iff dd divides fraction (m and dd are coprime). */
      if (d->fraction % dd != 0)
        return SCALE_INEXACT;
      if (!g_uint64_checked_mul (&frac, d->fraction / dd, m))
        return SCALE_OVERFLOW;
    }
  if (!g_uint64_checked_add (&whole, whole, frac) || whole > (guint64) G_MAXINT64)
    return SCALE_OVERFLOW;
  *ret = (gint64) whole;
  return SCALE_OK;
}

gboolean
cara_cpu_parse (const char *s, gint64 *ret_millicores, GError **error)
{
  const char *p = s;
  Decimal d;
  gboolean overflow;
  guint64 mult;
  gint64 v;

  if (s == NULL || !parse_decimal (&p, &d, &overflow))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid cpu quantity \"%s\": expected a number of cores (\"2\", \"0.5\") or millicores (\"500m\")",
                   s != NULL ? s : "");
      return FALSE;
    }
  if (strcmp (p, "") == 0)
    mult = 1000;
  else if (strcmp (p, "m") == 0)
    mult = 1;
  else
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid cpu quantity \"%s\": unknown suffix \"%s\" (use \"m\" for millicores)", s, p);
      return FALSE;
    }
  switch (overflow ? SCALE_OVERFLOW : scale (&d, mult, &v))
    {
    case SCALE_OK:
      *ret_millicores = v;
      return TRUE;
    case SCALE_INEXACT:
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid cpu quantity \"%s\": finer than 1m (one millicore)", s);
      return FALSE;
    case SCALE_OVERFLOW:
    default:
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid cpu quantity \"%s\": too large", s);
      return FALSE;
    }
}

char *
cara_cpu_format (gint64 millicores)
{
  if (millicores % 1000 == 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT, millicores / 1000);
  return g_strdup_printf ("%" G_GINT64_FORMAT "m", millicores);
}

static const struct {
  const char *suffix;
  guint64 mult;
} byte_suffixes[] = {
  { "", 1 },
  { "k", G_GUINT64_CONSTANT (1000) },
  { "M", G_GUINT64_CONSTANT (1000000) },
  { "G", G_GUINT64_CONSTANT (1000000000) },
  { "T", G_GUINT64_CONSTANT (1000000000000) },
  { "P", G_GUINT64_CONSTANT (1000000000000000) },
  { "E", G_GUINT64_CONSTANT (1000000000000000000) },
  { "Ki", G_GUINT64_CONSTANT (1) << 10 },
  { "Mi", G_GUINT64_CONSTANT (1) << 20 },
  { "Gi", G_GUINT64_CONSTANT (1) << 30 },
  { "Ti", G_GUINT64_CONSTANT (1) << 40 },
  { "Pi", G_GUINT64_CONSTANT (1) << 50 },
  { "Ei", G_GUINT64_CONSTANT (1) << 60 },
};

gboolean
cara_bytes_parse (const char *s, gint64 *ret_bytes, GError **error)
{
  const char *p = s;
  Decimal d;
  gboolean overflow;
  gint64 v;
  guint i;

  if (s == NULL || !parse_decimal (&p, &d, &overflow))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid quantity \"%s\": expected a number of bytes with an optional suffix (\"256Mi\", \"1G\")",
                   s != NULL ? s : "");
      return FALSE;
    }
  for (i = 0; i < G_N_ELEMENTS (byte_suffixes); i++)
    if (strcmp (p, byte_suffixes[i].suffix) == 0)
      break;
  if (i == G_N_ELEMENTS (byte_suffixes))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid quantity \"%s\": unknown suffix \"%s\" (use k, M, G, T, P, E or Ki, Mi, Gi, Ti, Pi, Ei)",
                   s, p);
      return FALSE;
    }
  switch (overflow ? SCALE_OVERFLOW : scale (&d, byte_suffixes[i].mult, &v))
    {
    case SCALE_OK:
      *ret_bytes = v;
      return TRUE;
    case SCALE_INEXACT:
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid quantity \"%s\": not a whole number of bytes", s);
      return FALSE;
    case SCALE_OVERFLOW:
    default:
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid quantity \"%s\": too large", s);
      return FALSE;
    }
}

char *
cara_bytes_format (gint64 bytes)
{
  if (bytes != 0)
    for (guint i = G_N_ELEMENTS (byte_suffixes) - 1; i >= 7; i--)
      if (bytes % (gint64) byte_suffixes[i].mult == 0)
        return g_strdup_printf ("%" G_GINT64_FORMAT "%s", bytes / (gint64) byte_suffixes[i].mult,
                                byte_suffixes[i].suffix);
  return g_strdup_printf ("%" G_GINT64_FORMAT, bytes);
}

/* ---- durations, as Go's time.ParseDuration ---- */

#define NSEC_PER_USEC G_GUINT64_CONSTANT (1000)
#define NSEC_PER_MSEC G_GUINT64_CONSTANT (1000000)
#define NSEC_PER_SEC G_GUINT64_CONSTANT (1000000000)

static const struct {
  const char *unit;
  guint64 nsec;
} duration_units[] = {
  { "ns", 1 },
  { "us", NSEC_PER_USEC },
  { "\xc2\xb5s", NSEC_PER_USEC }, /* U+00B5 micro sign */
  { "\xce\xbcs", NSEC_PER_USEC }, /* U+03BC Greek mu */
  { "ms", NSEC_PER_MSEC },
  { "s", NSEC_PER_SEC },
  { "m", 60 * NSEC_PER_SEC },
  { "h", 3600 * NSEC_PER_SEC },
};

static gboolean
duration_error (GError **error, const char *s, const char *why)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid duration \"%s\": %s", s, why);
  return FALSE;
}

#define DURATION_HINT "expected e.g. \"500ms\", \"2s\", \"3m\", \"1h30m\""

/* One "<decimal><unit>" term of a duration, in nanoseconds. */
static gboolean
parse_duration_term (const char *s, const char **p, guint64 *ret_ns, GError **error)
{
  Decimal d;
  gboolean overflow;
  const char *u;
  gsize ulen;
  guint i;
  guint64 unit, whole, frac_ns = 0;

  if (!parse_decimal (p, &d, &overflow))
    return duration_error (error, s, DURATION_HINT);
  u = *p;
  while (**p != '\0' && **p != '.' && !g_ascii_isdigit (**p))
    (*p)++;
  ulen = (gsize) (*p - u);
  if (ulen == 0)
    return duration_error (error, s, "missing unit (ns, us, ms, s, m, h)");
  for (i = 0; i < G_N_ELEMENTS (duration_units); i++)
    if (strlen (duration_units[i].unit) == ulen && strncmp (u, duration_units[i].unit, ulen) == 0)
      break;
  if (i == G_N_ELEMENTS (duration_units))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid duration \"%s\": unknown unit \"%.*s\" (ns, us, ms, s, m, h)", s,
                   (int) ulen, u);
      return FALSE;
    }
  unit = duration_units[i].nsec;
  if (d.fraction_len > 0)
    {
      /* fraction/10^len of a unit; what is finer than a nanosecond is dropped, as Go does.
       * With g = gcd, (f/dd)*m stays below one unit and (f%dd)*m below dd*m, both in range. */
      guint64 den = pow10_u64 (d.fraction_len);
      guint64 g = gcd_u64 (unit, den), m = unit / g, dd = den / g;
      frac_ns = (d.fraction / dd) * m + ((d.fraction % dd) * m) / dd;
    }
  if (overflow || !g_uint64_checked_mul (&whole, d.integer, unit) ||
      !g_uint64_checked_add (&whole, whole, frac_ns) || whole > (guint64) G_MAXINT64)
    return duration_error (error, s, "too large");
  *ret_ns = whole;
  return TRUE;
}

gboolean
cara_duration_parse (const char *s, gint64 *ret_usec, GError **error)
{
  const char *p = s;
  guint64 total = 0;

  if (s == NULL || *s == '\0')
    return duration_error (error, "", DURATION_HINT);
  if (*p == '-')
    return duration_error (error, s, "must not be negative");
  if (*p == '+')
    p++;
  if (strcmp (p, "0") == 0)
    {
      *ret_usec = 0;
      return TRUE;
    }
  if (*p == '\0')
    return duration_error (error, s, DURATION_HINT);
  while (*p != '\0')
    {
      guint64 ns;
      if (!parse_duration_term (s, &p, &ns, error))
        return FALSE;
      if (!g_uint64_checked_add (&total, total, ns) || total > (guint64) G_MAXINT64)
        return duration_error (error, s, "too large");
    }
  *ret_usec = (gint64) (total / NSEC_PER_USEC);
  return TRUE;
}

#define USEC_PER_SEC G_GUINT64_CONSTANT (1000000)

char *
cara_duration_format (gint64 usec)
{
  GString *out = g_string_new (NULL);
  guint64 u;

  if (usec == 0)
    {
      g_string_append (out, "0s");
      return g_string_free (out, FALSE);
    }
  if (usec < 0)
    {
      g_string_append_c (out, '-');
      u = (guint64) (-(usec + 1)) + 1;
    }
  else
    u = (guint64) usec;
  if (u < USEC_PER_SEC)
    {
      if (u % 1000 == 0)
        g_string_append_printf (out, "%" G_GUINT64_FORMAT "ms", u / 1000);
      else
        g_string_append_printf (out, "%" G_GUINT64_FORMAT "us", u);
      return g_string_free (out, FALSE);
    }
  if (u >= 3600 * USEC_PER_SEC)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT "h", u / (3600 * USEC_PER_SEC));
  u %= 3600 * USEC_PER_SEC;
  if (u >= 60 * USEC_PER_SEC)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT "m", u / (60 * USEC_PER_SEC));
  u %= 60 * USEC_PER_SEC;
  if (u != 0)
    {
      g_string_append_printf (out, "%" G_GUINT64_FORMAT, u / USEC_PER_SEC);
      if (u % USEC_PER_SEC != 0)
        {
          char frac[8];
          g_snprintf (frac, sizeof frac, ".%06" G_GUINT64_FORMAT, u % USEC_PER_SEC);
          for (char *e = frac + strlen (frac) - 1; *e == '0'; e--)
            *e = '\0';
          g_string_append (out, frac);
        }
      g_string_append_c (out, 's');
    }
  return g_string_free (out, FALSE);
}
