import Tensors
import Training

/// What the ranks agree on after each step of `train` under mpirun, with
/// one small allreduce: whether a step failed on any rank (then it fails on
/// every rank, with the lowest failing rank's message) and whether rank 0
/// was asked to stop (Ctrl-C: every rank stops after the same step). Every
/// `checksumEvery` steps they also compare a fingerprint of the parameters,
/// so a divergence inside a long `train` is an error within that many steps.
enum MPIStepAgreement {
    /// Steps between parameter checksums (one pass over the parameters:
    /// about 1% of a step's time or less; the sessions are also compared
    /// after every command).
    static let checksumEvery = 50

    /// The agreed outcome of step `step` (1-based within this command).
    static func afterStep(failure: String?, cancelled: Bool, state: SessionState, step: Int,
                          _ replicas: ReplicaGroup) -> (failure: String?, stop: Bool) {
        let flags = replicas.sum([failure == nil ? 0 : 1, cancelled ? 1 : 0])
        if flags[0] > 0 { return (ScriptRunner.agreedError(failure, replicas), true) }
        if step % checksumEvery == 0 {
            let f = DataParallel.fingerprint(state.params)
            if replicas.minimum(f) != -replicas.minimum(-f) {
                return ("the processes' parameters differ after step \(state.counters.miniSteps) (a rank computed different numbers: a different cnx build or CPU?): start again from the last saved session", true)
            }
        }
        return (nil, flags[1] > 0)
    }
}
