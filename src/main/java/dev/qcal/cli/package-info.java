/**
 * The {@code qcal} command line (picocli): one class per command, shared option mixins, the
 * progress line, and the mapping of failures to exit codes (2: bad input, one line; 3: a run that
 * failed). It parses and validates options, then hands typed options to {@code jobs}; nothing below
 * it imports it.
 */
package dev.qcal.cli;
