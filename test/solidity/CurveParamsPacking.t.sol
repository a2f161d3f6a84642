// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Amm} from "../../contracts/Amm.sol";
import {AmmCurveModule} from "../../contracts/amm/AmmCurveModule.sol";
import {IAmm} from "../../contracts/interfaces/IAmm.sol";
import {IAmmCurve, IAmmCurveErrors} from "../../contracts/interfaces/IAmmCurve.sol";
import {Artifacts} from "./utils/Artifacts.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice The curve's parameters are packed: the repeg threshold and the spread's two bounds in
/// whole millionths (24 bits each) with the budget and its 88-bit target in one slot, the vAMM
/// leverage bound with the fund's share in another. Whatever the owner sets within the bounds must
/// read back exactly (nothing cut by the packing) and leave the budget as it was; a ratio that is
/// not a whole millionth, or a target of 2^88, is refused by name and changes nothing.
contract CurveParamsPackingTest is TestBase {
    uint256 internal constant STEP = 1e12;
    Amm internal amm;
    AmmCurveModule internal module;

    function setUp() public {
        module = Artifacts.curveModule();
        amm = new Amm(address(this), 1_000_000e18, 10_000e18, IAmm.Limits(0, 0, 0), address(this), address(module));
        // The budget: 1,234.5 quote, credited by the ClearingHouse (this contract).
        amm.creditBudget(1_234.5e18);
    }

    /// @dev Parameters within the module's bounds, the three packed ratios whole millionths.
    function _valid(uint256[8] memory seeds) internal view returns (IAmmCurve.CurveParams memory p) {
        p.repegThresholdRatio =
            seeds[0] % 3 == 0
                ? 0
                : bound(seeds[0], module.MIN_REPEG_THRESHOLD() / STEP, module.MAX_REPEG_THRESHOLD() / STEP) * STEP;
        p.baseSpreadRatio = bound(seeds[1], 0, module.MAX_BASE_SPREAD() / STEP) * STEP;
        p.maxSpreadRatio = bound(seeds[2], p.baseSpreadRatio / STEP, module.MAX_SPREAD() / STEP) * STEP;
        p.maxVammLeverage =
            seeds[3] % 3 == 0 ? 0 : bound(seeds[3], module.MIN_VAMM_LEVERAGE(), module.MAX_VAMM_LEVERAGE());
        p.fundShareRatio = bound(seeds[4], 0, 1e18);
        p.budgetTarget = boundLog(seeds[5], 1, type(uint88).max);
        p.budgetFloor = bound(seeds[6], 0, p.budgetTarget);
        p.maxDepthChangeRatio = bound(seeds[7], 0, module.MAX_DEPTH_CHANGE());
        p.minDepthRatio = bound(seeds[7] >> 64, module.MIN_DEPTH_LIMIT(), 1e18);
        p.maxDepthRatio = bound(seeds[7] >> 128, 1e18, module.MAX_DEPTH_LIMIT());
    }

    function _assertReadBack(IAmmCurve.CurveParams memory p) internal view {
        IAmmCurve.CurveParams memory got = amm.getCurveParams();
        assertEq(got.repegThresholdRatio, p.repegThresholdRatio, "repeg threshold");
        assertEq(got.baseSpreadRatio, p.baseSpreadRatio, "base spread");
        assertEq(got.maxSpreadRatio, p.maxSpreadRatio, "max spread");
        assertEq(got.maxVammLeverage, p.maxVammLeverage, "vAMM leverage");
        assertEq(got.fundShareRatio, p.fundShareRatio, "fund share");
        assertEq(got.budgetFloor, p.budgetFloor, "floor");
        assertEq(got.budgetTarget, p.budgetTarget, "target");
        assertEq(got.maxDepthChangeRatio, p.maxDepthChangeRatio, "depth change");
        assertEq(got.minDepthRatio, p.minDepthRatio, "min depth");
        assertEq(got.maxDepthRatio, p.maxDepthRatio, "max depth");
        assertEq(amm.getCurveState().budget, 1_234.5e18, "the budget shares the slot and is kept");
    }

    function testFuzz_validParametersReadBackExactly(uint256[8] memory seeds) public {
        IAmmCurve.CurveParams memory p = _valid(seeds);
        amm.setCurveParams(p);
        _assertReadBack(p);
    }

    function testFuzz_aRatioNotAWholeMillionthIsRefusedAndChangesNothing(
        uint256[8] memory seeds,
        uint256 which,
        uint256 offset
    ) public {
        IAmmCurve.CurveParams memory before = _valid(seeds);
        amm.setCurveParams(before);
        IAmmCurve.CurveParams memory p = _valid(
            [seeds[7], seeds[6], seeds[5], seeds[4], seeds[3], seeds[2], seeds[1], seeds[0]]
        );
        offset = bound(offset, 1, STEP - 1);
        // One ratio a whole number of steps and `offset` (less than a step) more, strictly inside
        // its range, so that only the step check can refuse it.
        uint256 steps = seeds[0] >> 128;
        which = which % 3;
        if (which == 0) {
            uint256 lo = module.MIN_REPEG_THRESHOLD() / STEP;
            p.repegThresholdRatio = bound(steps, lo, module.MAX_REPEG_THRESHOLD() / STEP - 1) * STEP + offset;
        } else if (which == 1) {
            uint256 cap = module.MAX_BASE_SPREAD();
            if (p.maxSpreadRatio < cap) cap = p.maxSpreadRatio;
            if (cap == 0) (cap, p.maxSpreadRatio) = (STEP, STEP);
            p.baseSpreadRatio = bound(steps, 0, cap / STEP - 1) * STEP + offset;
        } else {
            p.maxSpreadRatio = bound(steps, p.baseSpreadRatio / STEP, module.MAX_SPREAD() / STEP - 1) * STEP + offset;
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                IAmmCurveErrors.CurveRatioNotWholeStep.selector,
                p.repegThresholdRatio,
                p.baseSpreadRatio,
                p.maxSpreadRatio,
                STEP
            )
        );
        amm.setCurveParams(p);
        _assertReadBack(before);
    }

    function test_aTargetOf2To88IsRefused() public {
        IAmmCurve.CurveParams memory p = IAmmCurve.CurveParams(0, 0, 0, 0, 0, 0, 2 ** 88, 0, 1e18, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IAmmCurveErrors.BudgetBoundsInvalid.selector, 0, 2 ** 88));
        amm.setCurveParams(p);
        p.budgetTarget = 2 ** 88 - 1;
        amm.setCurveParams(p);
        assertEq(amm.getCurveParams().budgetTarget, 2 ** 88 - 1, "the largest target fits");
    }
}
