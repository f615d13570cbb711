package memplan.app.ui;

import memplan.app.ui.planner.PlannerViewModel;
import memplan.app.ui.planner.Planning;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.timeline.AxisTicks;
import memplan.backend.DeviceOutOfMemoryException;
import memplan.exec.RunConfigException;
import memplan.ir.Remedy;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Round axis ticks, planners offered only where they apply, names for people, and messages in the app's words. */
class UiSmallItemsTest {
    @Test
    void byteTicksAreRound() {
        AxisTicks t = AxisTicks.bytes(1000L << 20, 5);
        assertEquals(List.of("0", "200 MiB", "400 MiB", "600 MiB", "800 MiB", "1000 MiB"), labels(t));
        AxisTicks g = AxisTicks.bytes((long) (9.55 * (1L << 30)), 5);
        assertEquals(List.of("0", "2 GiB", "4 GiB", "6 GiB", "8 GiB", "10 GiB"), labels(g));
        AxisTicks small = AxisTicks.bytes((long) (2.4 * (1 << 20)), 5);
        assertEquals("0.5 MiB", small.label(1));
        assertTrue(small.top() >= 2.4 * (1 << 20));
        assertEquals("1 MiB", AxisTicks.bytes((long) (2.6 * (1 << 20)), 5).label(1));
        AxisTicks ms = AxisTicks.plain(128.7, 6, "");
        assertEquals(25, ms.step());
    }

    static List<String> labels(AxisTicks t) {
        List<String> out = new ArrayList<>();
        for (int k = 0; k <= t.count(); k++) out.add(t.label(k));
        return out;
    }

    @Test
    void vdnnConvIsNotOfferedForANetworkWithoutConvolutions() {
        SessionViewModel s = UiSessionViewModelTest.session();
        PlannerViewModel vm = new PlannerViewModel(s, Planning.catalog());
        List<String> offered = new ArrayList<>(vm.catalog().names());
        s.batchProperty().set(2);
        s.openSample("tiny-transformer");
        String chosen = vm.plannerProperty().get();
        vm.offeredFor(offered);
        assertTrue(offered.stream().noneMatch(n -> n.startsWith("vdnn-conv")), offered.toString());
        assertTrue(offered.contains("vdnn-all"), offered.toString());
        assertEquals(chosen, vm.plannerProperty().get(), "the user's choice stays");
        s.openSample("tiny-cnn");
        vm.offeredFor(offered);
        assertTrue(offered.contains("vdnn-conv"), offered.toString());
        for (String n : offered) assertFalse(vm.displayName(n).isBlank());
        assertEquals("vDNN: swap all", vm.displayName("vdnn-all"));
    }

    @Test
    void engineMessagesNameTheAppsControlsNotFlags() {
        // the engine names a remedy, never a flag; the app words it as its control
        String m = SessionViewModel.describe(new DeviceOutOfMemoryException(
                "out of device memory at conv1: 3 GiB would be live but the device has 2 GiB", 3L << 30, 2L << 30));
        assertFalse(m.contains("--"), m);
        assertTrue(m.contains("Device memory in the Run tab"), m);
        String d = SessionViewModel.describe(new RunConfigException("training runs use fp32 tensors, not fp16",
                Remedy.FP32));
        assertTrue(d.contains("Data type fp32 in the Model tab"), d);
    }
}
