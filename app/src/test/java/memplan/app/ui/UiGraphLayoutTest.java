package memplan.app.ui;

import memplan.app.ui.graph.GraphLayout;
import memplan.app.ui.graph.GraphViewModel;
import memplan.app.ui.session.Analysis;
import memplan.ir.DType;
import memplan.samples.SampleModels;
import memplan.train.Optimizer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class UiGraphLayoutTest {
    @Test
    void longestPathLayering() {
        // 0 -> 1 -> 2 -> 3, and a skip 0 -> 3; 4 is a second source feeding 3 only.
        GraphLayout l = GraphLayout.of(5, new int[][]{{0, 1}, {1, 2}, {2, 3}, {0, 3}, {4, 3}});
        assertEquals(0, l.layerOf(0));
        assertEquals(1, l.layerOf(1));
        assertEquals(2, l.layerOf(2));
        assertEquals(3, l.layerOf(3));
        assertEquals(2, l.layerOf(4), "a source is pulled down to just above its consumer");
        assertEquals(4, l.layerCount());
        // every edge goes downwards and its path runs from the source's bottom to the target's top
        for (int e = 0; e < l.edgeCount(); e++) {
            double[] p = l.edgePath(e);
            assertTrue(p[p.length - 1] > p[1]);
        }
        double[] skip = l.edgePath(3);
        assertEquals(8, skip.length, "a skip over two layers gets two dummy points");
    }

    @Test
    void barycenterRemovesCrossings() {
        // Two chains whose file order would cross: a0->b1, a1->b0.
        GraphLayout l = GraphLayout.of(4, new int[][]{{0, 3}, {1, 2}});
        assertEquals(0, l.crossings());
        assertTrue((l.x(0) < l.x(1)) == (l.x(3) < l.x(2)));
    }

    @Test
    void nodesDoNotOverlapAndHitTestFindsThem() {
        GraphLayout l = GraphLayout.of(4, new int[][]{{0, 1}, {0, 2}, {1, 3}, {2, 3}});
        assertNotEquals(l.x(1), l.x(2));
        assertEquals(l.y(1), l.y(2));
        assertTrue(Math.abs(l.x(1) - l.x(2)) >= GraphLayout.NODE_W);
        for (int i = 0; i < 4; i++) assertEquals(i, l.nodeAt(l.x(i), l.y(i)));
        assertEquals(-1, l.nodeAt(l.x(0) + 1000, l.y(0)));
    }

    @Test
    void resnet50StaysNarrowAndUncrossed() {
        Analysis a = Analysis.of(SampleModels.load("resnet50"), 2, DType.FP32, Optimizer.SGD);
        GraphLayout l = a.layout();
        assertEquals(a.graph().nodes().size(), l.nodeCount());
        assertTrue(l.layerCount() > 100);
        assertTrue(l.width() < 6 * GraphLayout.NODE_W, "width " + l.width());
        assertTrue(l.crossings() <= 5, "crossings " + l.crossings());
    }

    @Test
    void fitZoomAndSearch() {
        Analysis a = Analysis.of(SampleModels.load("tiny-cnn"), 2, DType.FP32, Optimizer.SGD);
        GraphViewModel vm = new GraphViewModel();
        vm.fit(a.layout(), 800, 600);
        GraphLayout l = a.layout();
        // the whole drawing is inside the view
        assertTrue(vm.toViewX(l.minX()) >= 0 && vm.toViewX(l.minX() + l.width()) <= 800);
        assertTrue(vm.toViewY(0) >= 0 && vm.toViewY(l.height()) <= 600);
        double s = vm.scaleProperty().get();
        double wx = vm.toWorldX(100), wy = vm.toWorldY(100);
        vm.zoomAt(2, 100, 100);
        assertEquals(Math.min(GraphViewModel.MAX_SCALE, 2 * s), vm.scaleProperty().get(), 1e-9);
        assertEquals(wx, vm.toWorldX(100), 1e-9, "zoom keeps the point under the mouse");
        assertEquals(wy, vm.toWorldY(100), 1e-9);
        vm.searchProperty().set("RELU");
        int first = vm.findNext(a);
        assertTrue(first >= 0);
        assertTrue(a.graph().nodes().get(first).name().toLowerCase().contains("relu"));
        int second = vm.findNext(a);
        assertNotEquals(first, second, "find next moves on");
        vm.searchProperty().set("no-such-layer");
        assertEquals(-1, vm.findNext(a));
    }
}
