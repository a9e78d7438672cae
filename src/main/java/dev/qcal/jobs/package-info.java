/**
 * The Spark wiring: each job is a short sequence of stages run through {@link
 * dev.qcal.jobs.JobContext#stage} (job group, progress line, timing), for example {@link
 * dev.qcal.jobs.CalibrateJob}: prepare, observe, choose, fallback, write. Here too are the Spark
 * readers of calibration data ({@link dev.qcal.jobs.DataSources} and one source per family), the
 * model shipped to executors ({@link dev.qcal.jobs.ShippedFiles}), test fault hooks ({@link
 * dev.qcal.jobs.FaultHooks}) and the Spark-free quantize step shared by calibrate and quantize.
 *
 * <p>It uses every lower package and never imports {@code cli}.
 */
package dev.qcal.jobs;
