package dev.qcal.data;

import java.util.Iterator;
import java.util.function.Consumer;

/** Helpers over streams of samples. */
public final class Samples {
  private Samples() {}

  /** {@code it}'s elements, each handed to {@code action} as it is taken (counting, pairing with labels). */
  public static <T> Iterator<T> peek(Iterator<T> it, Consumer<? super T> action) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public T next() {
        T t = it.next();
        action.accept(t);
        return t;
      }
    };
  }
}
