/**
 * Tensor and node names of inserted Q/DQ nodes. INT8/FP8 pairs follow onnxruntime's QDQ quantizer
 * (the reference calls it); INT4 names follow the reference's INT4 writer.
 */
export const QUANTIZE_OP = 'QuantizeLinear';
export const DEQUANTIZE_OP = 'DequantizeLinear';
export const TRT_INT4_QUANTIZE_OP = 'TRT_INT4QuantizeLinear';
export const TRT_INT4_DEQUANTIZE_OP = 'TRT_INT4DequantizeLinear';

/** Op types whose output is a dequantized tensor (a consumer of one counts as quantized). */
export const DEQUANTIZE_OPS: ReadonlySet<string> = new Set([DEQUANTIZE_OP, TRT_INT4_DEQUANTIZE_OP, 'TRT_FP8DequantizeLinear']);
export const QUANTIZE_OPS: ReadonlySet<string> = new Set([QUANTIZE_OP, TRT_INT4_QUANTIZE_OP, 'TRT_FP8QuantizeLinear']);

/** `postfix` is '' for a shared pair and `_1`, `_2`, ... for dedicated pairs. */
export const quantNodeName = (t: string, postfix = ''): string => `${t}_QuantizeLinear${postfix}`;
export const quantOutputName = (t: string, postfix = ''): string => `${t}_QuantizeLinear_Output${postfix}`;
export const dequantNodeName = (t: string, postfix = ''): string => `${t}_DequantizeLinear${postfix}`;
export const dequantOutputName = (t: string, postfix = ''): string => `${t}_DequantizeLinear_Output${postfix}`;
/** Q input when the quantized tensor is a graph output (the DQ then writes the output name). */
export const quantInputName = (t: string): string => `${t}_QuantizeLinear_Input`;
export const scaleName = (t: string): string => `${t}_scale`;
export const zeroPointName = (t: string): string => `${t}_zero_point`;

/** INT4 weight-only names. */
export const int4WeightName = (w: string): string => `${w}_i4`;
export const int4ScaleName = (w: string): string => `${w}_scale`;
export const int4ZeroPointName = (w: string): string => `${w}_zp`;
