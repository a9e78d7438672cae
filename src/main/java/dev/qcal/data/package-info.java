/**
 * From stored samples to input tensors, without Spark: {@code .npy}/{@code .npz} files ({@link
 * dev.qcal.data.Npy}, {@link dev.qcal.data.NpyFiles}), images and their preprocessing ({@link
 * dev.qcal.data.ImagePipeline}), element types ({@link dev.qcal.data.ElemType}), sampling ({@link
 * dev.qcal.data.SampleSelection}), bad-record handling ({@link dev.qcal.data.BadRecords}),
 * padding of variable-length rows ({@link dev.qcal.data.Padding}), batching ({@link
 * dev.qcal.data.Batcher}) and the {@code --format} vocabulary ({@link dev.qcal.data.SourceFormat}).
 *
 * <p>The Spark readers built on it live in {@code jobs} ({@code DataSources}); this package never
 * imports Spark, ONNX Runtime, {@code model}, {@code jobs} or {@code cli}.
 */
package dev.qcal.data;
