"""``Double.toString`` of Java 17, in Python, digit for digit.

Spark writes doubles in JSON with Jackson, which calls ``Double.toString``.
Up to Java 18 that is ``jdk.internal.math.FloatingDecimal``, whose digits are
not always the shortest that read back to the same double (JDK-4511638, fixed
in Java 19): integer doubles above 2**53 are printed from their exact value,
and some others get a digit more than Python's ``repr``. To write the text
Spark writes, this module follows ``FloatingDecimal.BinaryToASCIIBuffer``
step by step: ``dtoa`` with its int, long and big-integer variants (they
differ in a comparison and in 32/64-bit overflow, both kept), ``roundup``,
``developLongDigits`` and ``getChars``.
"""

from __future__ import annotations

import math
import struct

__all__ = ["java_double_string"]

_EXP_SHIFT = 52
_FRACT_HOB = 1 << _EXP_SHIFT
_SIGNIF_MASK = _FRACT_HOB - 1
_EXP_BIAS = 1023
_MAX_SMALL_BIN_EXP = 62
_MIN_SMALL_BIN_EXP = -(63 // 3)
_N_5_BITS = [(5**i).bit_length() if i else 0 for i in range(27)]
# FloatingDecimal.insignificantDigitsNumber
_INSIGNIFICANT = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8]
_INSIGNIFICANT += [9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15]
_INSIGNIFICANT += [15, 16, 16, 16, 17, 17, 17, 18, 18, 18, 19]


def _wrap(v: int, bits: int) -> int:
    """``v`` as a Java ``int`` (32) or ``long`` (64): two's complement overflow."""
    half = 1 << (bits - 1)
    return ((v + half) % (1 << bits)) - half


def java_double_string(x: float) -> str:
    """``Double.toString(x)`` as Java 17 writes it (``NaN``, ``Infinity``, ``-0.0`` included)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    negative = bool(bits >> 63)
    fract = bits & _SIGNIF_MASK
    bin_exp = (bits >> _EXP_SHIFT) & 0x7FF
    if bin_exp == 0:
        if fract == 0:
            return "-0.0" if negative else "0.0"
        leading = 64 - fract.bit_length()
        shift = leading - (63 - _EXP_SHIFT)
        fract <<= shift
        bin_exp = 1 - shift
        n_significant = 64 - leading
    else:
        fract |= _FRACT_HOB
        n_significant = _EXP_SHIFT + 1
    bin_exp -= _EXP_BIAS
    digits, dec_exponent = _dtoa(bin_exp, fract, n_significant)
    return ("-" if negative else "") + _chars(digits, dec_exponent)


def _dtoa(bin_exp: int, fract: int, n_significant: int) -> tuple[list[int], int]:
    """Digits and ``decExponent`` (value = 0.digits * 10**decExponent) of a positive double."""
    tail_zeros = (fract & -fract).bit_length() - 1
    n_fract_bits = _EXP_SHIFT + 1 - tail_zeros
    n_tiny_bits = max(0, n_fract_bits - bin_exp - 1)
    if _MIN_SMALL_BIN_EXP <= bin_exp <= _MAX_SMALL_BIN_EXP and n_tiny_bits == 0:
        insignificant = 0
        if bin_exp > n_significant:
            p2 = bin_exp - n_significant - 1
            insignificant = _INSIGNIFICANT[p2] if 1 < p2 < len(_INSIGNIFICANT) else 0
        value = fract << (bin_exp - _EXP_SHIFT) if bin_exp >= _EXP_SHIFT else fract >> (_EXP_SHIFT - bin_exp)
        return _long_digits(value, insignificant)

    dec_exp = _estimate_dec_exp(fract, bin_exp)
    b5 = max(0, -dec_exp)
    b2 = b5 + n_tiny_bits + bin_exp
    s5 = max(0, dec_exp)
    s2 = s5 + n_tiny_bits
    m5 = b5
    m2 = b2 - n_significant
    fract >>= tail_zeros
    b2 -= n_fract_bits - 1
    common = min(b2, s2)
    b2 -= common
    s2 -= common
    m2 -= common
    if n_fract_bits == 1:
        m2 -= 1
    if m2 < 0:
        b2 -= m2
        s2 -= m2
        m2 = 0
    b_bits = n_fract_bits + b2 + (_N_5_BITS[b5] if b5 < len(_N_5_BITS) else b5 * 3)
    ten_s_bits = s2 + 1 + (_N_5_BITS[s5 + 1] if s5 + 1 < len(_N_5_BITS) else (s5 + 1) * 3)
    compatible = True  # Double.toString asks for the "compatible" format
    digits: list[int] = []
    # Java's int (32) or long (64) variant where every value fits, else FDBigInteger (0). The
    # variants differ: int/long stop on b + m > 10s and treat an overflowed m as "stop";
    # FDBigInteger stops on b + m >= 10s.
    width = (32 if b_bits < 32 and ten_s_bits < 32 else 64) if b_bits < 64 and ten_s_bits < 64 else 0

    def fit(v: int) -> int:
        return _wrap(v, width) if width else v

    def stops(b: int, m: int) -> tuple[bool, bool]:
        """(low, high): the remainder is within m of the lower or the upper neighbour."""
        if width:
            return b < m, fit(b + m) > tens
        return b < m, b + m >= tens

    b = fit((fract * 5**b5) << b2)
    s = fit(5**s5 << s2)
    m = fit(5**m5 << m2)
    tens = fit(s * 10)
    q, b = divmod(b, s)
    b, m = fit(10 * b), fit(10 * m)
    low, high = stops(b, m)
    if q == 0 and not high:  # the estimate of the exponent was one too high
        dec_exp -= 1
    else:
        digits.append(q)
    if not compatible or dec_exp < -3 or dec_exp >= 8:
        high = low = False
    while not low and not high:
        q, b = divmod(b, s)
        b, m = fit(10 * b), fit(10 * m)
        low, high = stops(b, m) if m > 0 else (True, True)  # m overflowed: Java stops
        digits.append(q)
    low_digit_difference = _wrap(fit(b << 1) - tens, 64) if width else (b << 1) - tens
    dec_exponent = dec_exp + 1
    if high:
        if low:
            if low_digit_difference == 0:
                if digits[-1] & 1:
                    dec_exponent = _roundup(digits, dec_exponent)
            elif low_digit_difference > 0:
                dec_exponent = _roundup(digits, dec_exponent)
        else:
            dec_exponent = _roundup(digits, dec_exponent)
    return digits, dec_exponent


def _estimate_dec_exp(fract: int, bin_exp: int) -> int:
    """``FloatingDecimal.estimateDecExp``: floor(log10(value)), computed the way Java does."""
    d2 = struct.unpack("<d", struct.pack("<Q", (_EXP_BIAS << _EXP_SHIFT) | (fract & _SIGNIF_MASK)))[0]
    d = (d2 - 1.5) * 0.289529654 + 0.176091259 + bin_exp * 0.301029995663981
    return math.floor(d)


def _long_digits(value: int, insignificant: int) -> tuple[list[int], int]:
    """``developLongDigits``: the integer's digits, insignificant ones rounded off, trailing zeros dropped."""
    dec_exponent = 0
    if insignificant:
        pow10 = 10**insignificant
        value, residue = divmod(value, pow10)
        dec_exponent += insignificant
        if residue >= pow10 >> 1:
            value += 1
    text = str(value)
    stripped = text.rstrip("0")
    return [int(c) for c in stripped], dec_exponent + len(text)


def _roundup(digits: list[int], dec_exponent: int) -> int:
    i = len(digits) - 1
    q = digits[i]
    if q == 9:
        while q == 9 and i > 0:
            digits[i] = 0
            i -= 1
            q = digits[i]
        if q == 9:  # carry out: 1 followed by zeros, one more decimal exponent
            digits[0] = 1
            return dec_exponent + 1
    digits[i] = q + 1
    return dec_exponent


def _chars(digits: list[int], dec_exponent: int) -> str:
    """``BinaryToASCIIBuffer.getChars``: plain from 10^-3 to 10^7, else ``d.dddE±n``."""
    text = "".join(map(str, digits))
    n = len(text)
    if 0 < dec_exponent < 8:
        whole = text[:dec_exponent]
        if len(whole) < dec_exponent:
            return whole + "0" * (dec_exponent - len(whole)) + ".0"
        return whole + "." + (text[dec_exponent:] or "0")
    if -3 < dec_exponent <= 0:
        return "0." + "0" * -dec_exponent + text
    exponent = dec_exponent - 1
    return text[0] + "." + (text[1:] if n > 1 else "0") + "E" + str(exponent)
