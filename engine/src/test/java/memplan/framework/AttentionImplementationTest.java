package memplan.framework;

import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Attention;
import memplan.ops.Input;
import memplan.ops.MseLoss;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AttentionImplementationTest {
    static ModelDef model() {
        var b = ModelDef.builder("two").description("two attention layers");
        b.dim("T", 4);
        String q = b.add("q", new Input(List.of("N", "T", "8"), null));
        String kv = b.add("kv", new Input(List.of("N", "T", "4"), null));
        String a = b.add("a", new Attention(2, 1, true, Attention.Form.EAGER), q, kv, kv);
        a = b.add("b", new Attention(2, 1, true, Attention.Form.FUSED), a, kv, kv);
        b.add("loss", new MseLoss(), a, q);
        return b.build().withSource("test");
    }

    private static List<Attention.Form> forms(ModelDef m) {
        return m.layers().stream().map(Layer::op).filter(op -> op instanceof Attention)
                .map(op -> ((Attention) op).form()).toList();
    }

    @Test
    void rewritesEveryAttentionLayerAndNothingElse() {
        ModelDef m = model();
        assertSame(m, AttentionImplementation.MODEL.applyTo(m));
        ModelDef e = AttentionImplementation.EAGER.applyTo(m), f = AttentionImplementation.FUSED.applyTo(m);
        assertEquals(List.of(Attention.Form.EAGER, Attention.Form.EAGER), forms(e));
        assertEquals(List.of(Attention.Form.FUSED, Attention.Form.FUSED), forms(f));
        assertSame(e, AttentionImplementation.EAGER.applyTo(e), "nothing to change");
        assertEquals(m.dims(), f.dims());
        assertEquals(m.source(), f.source());
        for (int i = 0; i < m.layers().size(); i++) {
            assertEquals(m.layers().get(i).name(), f.layers().get(i).name());
            assertEquals(m.layers().get(i).inputs(), f.layers().get(i).inputs());
        }
        Attention a = (Attention) f.layer("a").op();
        assertEquals(List.of(2, 1, true), List.of(a.heads(), a.kvHeads(), a.causal()));
    }

    @Test
    void parsesItsCommandLineNames() {
        for (AttentionImplementation a : AttentionImplementation.values())
            assertEquals(a, AttentionImplementation.parse(a.cliName()));
        var e = assertThrows(IllegalArgumentException.class, () -> AttentionImplementation.parse("flash"));
        assertTrue(e.getMessage().contains("use model, eager or fused"), e.getMessage());
    }
}
