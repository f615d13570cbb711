package memplan.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Every CUDA kernel the backend launches: the PTX module (resource memplan/cuda/MODULE.ptx, built from
 * src/main/cuda/MODULE.cu) and the parameter signature, one letter per parameter: p = device pointer,
 * l = long long, i = int, f = float, d = double. Launches are checked against the signature, and a test checks each
 * signature against the PTX entry, so a mismatch is found without a GPU.
 */
public final class Kernels {
    /** One kernel entry point. */
    public record Spec(String module, String name, String signature) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    private static final List<Spec> ALL = new ArrayList<>();

    private static Spec k(String module, String name, String signature) {
        Spec s = new Spec(module, name, signature);
        ALL.add(s);
        return s;
    }

    /** Every module (PTX file) the backend loads. */
    public static final List<String> MODULES = List.of("elementwise", "gemm", "conv", "pool", "norm", "softmax",
            "attention", "lstm", "misc", "optim", "codec", "binary", "reduce", "spatial3d",
            "groupnorm", "resize");

    // elementwise.cu
    public static final Spec FILL = k("elementwise", "fill_f32", "plf");
    public static final Spec COPY_ACC = k("elementwise", "copy_acc", "ppli");
    public static final Spec RELU_FWD = k("elementwise", "relu_fwd", "ppl");
    public static final Spec RELU_BWD = k("elementwise", "relu_bwd", "pppli");
    public static final Spec GELU_FWD = k("elementwise", "gelu_fwd", "ppl");
    public static final Spec GELU_BWD = k("elementwise", "gelu_bwd", "pppli");
    public static final Spec SIGMOID_FWD = k("elementwise", "sigmoid_fwd", "ppl");
    public static final Spec SIGMOID_BWD = k("elementwise", "sigmoid_bwd", "pppli");
    public static final Spec TANH_FWD = k("elementwise", "tanh_fwd", "ppl");
    public static final Spec TANH_BWD = k("elementwise", "tanh_bwd", "pppli");
    public static final Spec ADD_FWD = k("elementwise", "add_fwd", "pppl");
    public static final Spec MUL_FWD = k("elementwise", "mul_fwd", "pppl");
    public static final Spec MUL_BWD = k("elementwise", "mul_bwd", "pppli");
    public static final Spec DROPOUT_FWD = k("elementwise", "dropout_fwd", "pppllfli");
    public static final Spec DROPOUT_BWD = k("elementwise", "dropout_bwd", "ppplfi");
    public static final Spec LEAKY_RELU_FWD = k("elementwise", "leaky_relu_fwd", "ppld");
    public static final Spec LEAKY_RELU_BWD = k("elementwise", "leaky_relu_bwd", "pppldi");
    public static final Spec HARDSIGMOID_FWD = k("elementwise", "hardsigmoid_fwd", "ppldd");
    public static final Spec HARDSIGMOID_BWD = k("elementwise", "hardsigmoid_bwd", "pppl" + "ddi");
    public static final Spec HARDSWISH_FWD = k("elementwise", "hardswish_fwd", "ppl");
    public static final Spec HARDSWISH_BWD = k("elementwise", "hardswish_bwd", "pppli");
    public static final Spec MISH_FWD = k("elementwise", "mish_fwd", "ppl");
    public static final Spec MISH_BWD = k("elementwise", "mish_bwd", "pppli");
    public static final Spec SILU_FWD = k("elementwise", "silu_fwd", "ppl");
    public static final Spec SILU_BWD = k("elementwise", "silu_bwd", "pppli");
    public static final Spec GLU_FWD = k("elementwise", "glu_fwd", "ppppli");
    public static final Spec GLU_BWD = k("elementwise", "glu_bwd", "ppppppliii");
    public static final Spec ROPE = k("elementwise", "rope", "ppliiidii");
    public static final Spec SQRT_FWD = k("elementwise", "sqrt_fwd", "ppl");
    public static final Spec SQRT_BWD = k("elementwise", "sqrt_bwd", "pppli");
    public static final Spec CLIP_FWD = k("elementwise", "clip_fwd", "ppldd");
    public static final Spec CLIP_BWD = k("elementwise", "clip_bwd", "pppl" + "ffi");
    public static final Spec CAST = k("elementwise", "cast_any", "pplii");

    // binary.cu: 6 dims, then 6 strides per operand
    private static final String SHAPE6 = "iiiiii" + "llllll" + "llllll";
    public static final Spec BCAST_FWD = k("binary", "bcast_fwd", "pppl" + "iff" + SHAPE6);
    public static final Spec BCAST_BWD = k("binary", "bcast_bwd", "pppppl" + "iiffi" + SHAPE6);
    public static final Spec MASKED_FILL_FWD = k("binary", "masked_fill_fwd", "pppl" + "iif" + SHAPE6);
    public static final Spec MASKED_FILL_BWD = k("binary", "masked_fill_bwd", "pppl" + "iii" + SHAPE6);
    public static final Spec COMPARE_FWD = k("binary", "compare_fwd", "pppl" + "iiid" + SHAPE6);

    // reduce.cu
    public static final Spec REDUCE_MEAN_FWD = k("reduce", "reduce_mean_fwd", "ppll" + "i" + "iiiiii");
    public static final Spec REDUCE_MEAN_BWD = k("reduce", "reduce_mean_bwd", "ppl" + "fi" + "iiiiii" + "llllll");
    public static final Spec CUMSUM_SCAN = k("reduce", "cumsum_scan", "ppl" + "iiiii");
    public static final Spec TOPK_FWD = k("reduce", "topk_fwd", "pppl" + "iiii");
    public static final Spec TOPK_BWD = k("reduce", "topk_bwd", "pppl" + "iiii");

    // gemm.cu
    public static final Spec SGEMM_NN = k("gemm", "sgemm_nn", "iiifpilpilfpil");
    public static final Spec SGEMM_NT = k("gemm", "sgemm_nt", "iiifpilpilfpil");
    public static final Spec SGEMM_TN = k("gemm", "sgemm_tn", "iiifpilpilfpil");
    public static final Spec SGEMM_TT = k("gemm", "sgemm_tt", "iiifpilpilfpil");
    public static final Spec ADD_BIAS_ROWS = k("gemm", "add_bias_rows", "ppli");
    public static final Spec ADD_BIAS_NCHW = k("gemm", "add_bias_nchw", "pplii");
    public static final Spec COLSUM = k("gemm", "colsum", "pplii");
    public static final Spec BIAS_GRAD_NCHW = k("gemm", "bias_grad_nchw", "ppiiii");

    // conv.cu
    public static final Spec IM2COL = k("conv", "im2col", "ppiiiiiiiiiiiii");
    public static final Spec COL2IM = k("conv", "col2im", "ppiiiiiiiiiiiiii");

    // groupnorm.cu
    public static final Spec GROUPNORM_FWD = k("groupnorm", "groupnorm_fwd", "ppppppiiiif");
    public static final Spec GROUPNORM_BWD_DX = k("groupnorm", "groupnorm_bwd_dx", "ppppppiiiii");
    public static final Spec GROUPNORM_BWD_PARAMS = k("groupnorm", "groupnorm_bwd_params", "ppppppiiiiii");

    // spatial3d.cu
    public static final Spec VOL2COL = k("spatial3d", "vol2col", "pp" + "i".repeat(19));
    public static final Spec COL2VOL = k("spatial3d", "col2vol", "pp" + "i".repeat(20));
    public static final Spec MAXPOOL3D_FWD = k("spatial3d", "maxpool3d_fwd", "ppp" + "i".repeat(16));
    public static final Spec MAXPOOL3D_BWD = k("spatial3d", "maxpool3d_bwd", "ppp" + "i".repeat(17));
    public static final Spec AVGPOOL3D_FWD = k("spatial3d", "avgpool3d_fwd", "pp" + "i".repeat(16));
    public static final Spec AVGPOOL3D_BWD = k("spatial3d", "avgpool3d_bwd", "pp" + "i".repeat(17));

    // pool.cu
    public static final Spec MAXPOOL_FWD = k("pool", "maxpool_fwd", "pppiiiiiiiiiii");
    public static final Spec MAXPOOL_BWD = k("pool", "maxpool_bwd", "pppiiiiiiiiiiii");
    public static final Spec AVGPOOL_FWD = k("pool", "avgpool_fwd", "ppiiiiiiiiiii");
    public static final Spec AVGPOOL_BWD = k("pool", "avgpool_bwd", "ppiiiiiiiiiiii");
    public static final Spec GAP_FWD = k("pool", "gap_fwd", "ppii");
    public static final Spec GAP_BWD = k("pool", "gap_bwd", "pplii");
    public static final Spec UPSAMPLE_FWD = k("pool", "upsample_fwd", "ppiiii");
    public static final Spec UPSAMPLE_BWD = k("pool", "upsample_bwd", "ppiiiii");
    // resize.cu
    public static final Spec RESIZE_FWD = k("resize", "resize_fwd", "pp" + "iiiiiii" + "iii" + "dddd" + "i");
    public static final Spec RESIZE_BWD = k("resize", "resize_bwd", "pp" + "iiiiiii" + "iii" + "dddd" + "ii");
    public static final Spec FLIP_COPY = k("resize", "flip_copy", "pplii" + "iiiiii");

    // norm.cu
    public static final Spec BN_FWD_TRAIN = k("norm", "bn_fwd_train", "ppppppppiiiffi");
    public static final Spec BN_FWD_EVAL = k("norm", "bn_fwd_eval", "ppppppliif");
    public static final Spec BN_BWD = k("norm", "bn_bwd", "ppppppppiiiiii");
    public static final Spec LN_FWD = k("norm", "ln_fwd", "ppppppif");
    public static final Spec LN_BWD_X = k("norm", "ln_bwd_x", "ppppppii");
    public static final Spec LN_BWD_PARAMS = k("norm", "ln_bwd_params", "ppppppliii");
    public static final Spec RMS_FWD = k("norm", "rms_fwd", "ppppppif");
    public static final Spec RMS_BWD_X = k("norm", "rms_bwd_x", "ppppppii");
    public static final Spec RMS_BWD_W = k("norm", "rms_bwd_w", "ppplii");

    // softmax.cu
    public static final Spec SOFTMAX_FWD = k("softmax", "softmax_fwd", "ppi");
    public static final Spec SOFTMAX_BWD = k("softmax", "softmax_bwd", "pppii");
    public static final Spec CE_LOGSOFTMAX = k("softmax", "ce_logsoftmax", "ppii");
    public static final Spec CE_LOSS = k("softmax", "ce_loss", "ppplii" + "i");
    public static final Spec CE_BWD = k("softmax", "ce_bwd", "pppplii" + "lii");
    public static final Spec MSE_FWD = k("softmax", "mse_fwd", "pppl");
    public static final Spec MSE_BWD = k("softmax", "mse_bwd", "ppppli");

    // attention.cu
    public static final Spec ATTN_FWD = k("attention", "attn_fwd", "pppppiiiiiifiii");
    public static final Spec ATTN_BWD_DQ = k("attention", "attn_bwd_dq", "pppppppiiiiiifiiii");
    public static final Spec ATTN_BWD_DKV = k("attention", "attn_bwd_dkv", "ppppppppiiiiiifiiiii");
    public static final Spec ATTN_PROBS = k("attention", "attn_probs", "ppppliiiiiiiif");
    public static final Spec KV_REPEAT = k("attention", "kv_repeat", "ppliiii");
    public static final Spec EAGER_DP = k("attention", "eager_dp", "pppliiiiiii");
    public static final Spec EAGER_DS = k("attention", "eager_ds", "ppif");
    public static final Spec EAGER_DQ = k("attention", "eager_dq", "pppliiiiiiii");
    public static final Spec EAGER_DKV = k("attention", "eager_dkv", "ppppppliiiiiiiii");

    // lstm.cu
    public static final Spec LSTM_FWD_PW = k("lstm", "lstm_fwd_pw", "ppppppii");
    public static final Spec LSTM_BWD_PW = k("lstm", "lstm_bwd_pw", "ppppppiii");

    // misc.cu
    public static final Spec COPY_ROWS = k("misc", "copy_rows", "plpllli");
    public static final Spec ZERO_ROWS = k("misc", "zero_rows", "plll");
    public static final Spec SCATTER_ND_FWD = k("misc", "scatter_nd_fwd", "pppl" + "ili" + "iiiiii");
    public static final Spec SCATTER_ND_BWD_UPD = k("misc", "scatter_nd_bwd_upd", "pppl" + "ili" + "iiiiii");
    public static final Spec SCATTER_ND_BWD_DATA = k("misc", "scatter_nd_bwd_data", "pppll" + "ili" + "iiiiii");
    public static final Spec PAD_FWD = k("misc", "pad_fwd", "ppli" + "iiiiii" + "iiiiii" + "iiiiii");
    public static final Spec PAD_BWD = k("misc", "pad_bwd", "pplii" + "iiiiii" + "iiiiii" + "iiiiii");
    public static final Spec TRANSPOSE_ND = k("misc", "transpose_nd", "pplii" + "iiii" + "llllll" + "i");
    public static final Spec EMBEDDING_FWD = k("misc", "embedding_fwd", "ppplii" + "i");
    public static final Spec EMBEDDING_BWD = k("misc", "embedding_bwd", "ppplii" + "i");

    // optim.cu
    public static final Spec SGD_STEP = k("optim", "sgd_step", "ppplff");
    public static final Spec ADAM_STEP = k("optim", "adam_step", "pppplfffffff");

    // codec.cu
    public static final Spec MASK_ENC = k("codec", "mask_enc", "ppl");
    public static final Spec MASK_DEC = k("codec", "mask_dec", "ppl");
    public static final Spec SPARSE_ENC = k("codec", "sparse_enc", "ppllp");
    public static final Spec SPARSE_DEC = k("codec", "sparse_dec", "ppll");
    public static final Spec FP16_ENC = k("codec", "fp16_enc", "ppl");
    public static final Spec FP16_DEC = k("codec", "fp16_dec", "ppl");
    public static final Spec BF16_ENC = k("codec", "bf16_enc", "ppl");
    public static final Spec BF16_DEC = k("codec", "bf16_dec", "ppl");

    private Kernels() {
    }

    public static List<Spec> all() {
        return Collections.unmodifiableList(ALL);
    }

    /** Resource path of a module's PTX. */
    public static String resource(String module) {
        return "/memplan/cuda/" + module + ".ptx";
    }
}
