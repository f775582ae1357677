// Fault injection for the crash tests: `fault_point("epoch_recorded")` kills the process with
// SIGKILL on the N-th time it is reached when the environment says TLR_FAULT=epoch_recorded:N.
// Tests use it to stop a runner at an exact moment (mid-batch, between an epoch's row and its
// checkpoint, during evaluation) instead of racing a timer. Without TLR_FAULT it is one load of
// a cached flag. TLR_FAULT=train_batch:7:TERM raises SIGTERM instead (also :INT, :USR1), to
// test the signal paths at an exact batch.
//
// Points: train_batch (after an optimizer step), epoch_recorded (an epoch row is in the store,
// its checkpoint not yet written), checkpoint_saved (after a checkpoint file is in place),
// evaluation_batch (after a test batch's forward pass), run_completing (a cell's strategy is done,
// its model saved, its completion not yet recorded), file_written (a cache file, model file or
// report is written to its temporary name, not yet renamed into place).
//
// Thread safety: call from the thread that runs the cell.
#pragma once

namespace tlr {

void fault_point(const char* name);

}  // namespace tlr
