extension ClientSessionStateMachine {
    /// What to do when the connection opens.
    package enum ActivationAction {
        case none
        /// Write this HELLO.
        case sendHello(WireEnvelope<WireRequest>)
    }

    /// What to do with a submitted request.
    package enum SubmitAction {
        /// Nothing yet: the request is queued.
        case none
        /// Write this request.
        case sendRequest(WireEnvelope<WireRequest>)
        /// Fail the waiter: the connection is closed.
        case failRequest(Waiter, WireError)
    }

    /// What to do with a received frame.
    package enum ReplyAction {
        /// Nothing: the reply was for a request that timed out, or the
        /// connection is already closed.
        case none
        /// Write these queued requests.
        case sendRequests([WireEnvelope<WireRequest>])
        /// The handshake is done; write the queued requests.
        case handshakeCompleted(WireHelloReply, thenSend: [WireEnvelope<WireRequest>])
        /// Complete the waiter with the reply, then write the requests that
        /// got an in-flight slot.
        case succeedRequest(Waiter, WireResponse, thenSend: [WireEnvelope<WireRequest>])
        /// Fail the waiter with the server's error reply, then write.
        case failRequest(Waiter, WireError, thenSend: [WireEnvelope<WireRequest>])
        /// Close the connection and fail these waiters with the error.
        case closeConnection(WireError, failing: [Waiter])
    }

}

extension ClientSessionStateMachine.ActivationAction: Equatable {}
extension ClientSessionStateMachine.SubmitAction: Equatable {}
extension ClientSessionStateMachine.ReplyAction: Equatable {}
extension ClientSessionStateMachine.ActivationAction: Sendable {}
extension ClientSessionStateMachine.SubmitAction: Sendable {}
extension ClientSessionStateMachine.ReplyAction: Sendable {}
