package dev.qcal.data;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * {@link SampleSelection}'s sample hash and fraction rule recomputed in arbitrary precision, modulo 2^64, from their
 * definitions (SplitMix64 of FNV-1a over the UTF-8 bytes, seeded with SplitMix64 of the seed; a fraction F keeps the
 * hashes below F * 2^64): an oracle for the tests, sharing no code with the class.
 */
public final class HashOracle {
  private static final BigInteger MOD = BigInteger.ONE.shiftLeft(64);

  private HashOracle() {}

  /** The hash of {@code id} under {@code seed}, as an unsigned value in [0, 2^64). */
  public static BigInteger hash(long seed, String id) {
    BigInteger h = new BigInteger("cbf29ce484222325", 16).xor(splitMix(BigInteger.valueOf(seed).mod(MOD)));
    for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
      h = h.xor(BigInteger.valueOf(b & 0xff)).multiply(new BigInteger("100000001b3", 16)).mod(MOD);
    }
    return splitMix(h);
  }

  /** Whether a fraction {@code f} (a multiple of 2^-53, as 0.25 or 0.5 are) keeps {@code id} under {@code seed}. */
  public static boolean kept(long seed, double f, String id) {
    BigInteger bound = new java.math.BigDecimal(f).multiply(new java.math.BigDecimal(MOD)).toBigIntegerExact();
    return hash(seed, id).compareTo(bound) < 0;
  }

  private static BigInteger splitMix(BigInteger z) {
    z = z.add(new BigInteger("9e3779b97f4a7c15", 16)).mod(MOD);
    z = z.xor(z.shiftRight(30)).multiply(new BigInteger("bf58476d1ce4e5b9", 16)).mod(MOD);
    z = z.xor(z.shiftRight(27)).multiply(new BigInteger("94d049bb133111eb", 16)).mod(MOD);
    return z.xor(z.shiftRight(31));
  }
}
