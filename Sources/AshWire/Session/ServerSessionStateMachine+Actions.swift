extension ServerSessionStateMachine {
    /// What to do with a received frame.
    package enum FrameAction: Sendable, Hashable {
        /// Nothing now: the request waits for ``ServerSessionStateMachine/readCompleted()``,
        /// or the frame is ignored because the session is closing.
        case none
        /// Write this reply (a HELLO reply, PONG, or a request's error).
        case sendReply(WireEnvelope<WireResponse>)
        /// Write this error with request id 0, flush, then close. Requests
        /// not yet handed over are dropped.
        case closeConnection(WireError)

        var closeAction: CloseAction {
            switch self {
            case .closeConnection(let error): .closeConnection(error)
            case .none, .sendReply: .none
            }
        }
    }

    /// What to do when a read has been processed.
    package enum ReadCompletedAction: Sendable, Hashable {
        case none
        /// Hand these requests to the store, in this order; answer each with
        /// ``ServerSessionStateMachine/replyReady(_:)``.
        case executeRequests([WireEnvelope<WireRequest>])
    }

    /// What to do with the channel's request to read.
    package enum ReadAction: Sendable, Hashable {
        /// Pass the read on.
        case read
        /// Hold it back; a later `…ResumeReading` action says when to read.
        case stopReading
    }

    /// What to do with a reply from the store.
    package enum ReplyAction: Sendable, Hashable {
        /// Drop it: the connection is closed.
        case none
        case sendReply(WireEnvelope<WireResponse>)
        /// Write the reply, then issue the read that was held back.
        case sendReplyAndResumeReading(WireEnvelope<WireResponse>)
        /// Write the reply, then this error with request id 0, flush, close:
        /// the last in-flight request of a draining session.
        case sendReplyAndCloseConnection(WireEnvelope<WireResponse>, WireError)
    }

    /// What to do when writability changes.
    package enum WritabilityAction: Sendable, Hashable {
        case none
        /// Issue the read that was held back.
        case resumeReading
    }

    /// What to do on a timeout, a shutdown or a decoding failure.
    package enum CloseAction: Sendable, Hashable {
        case none
        /// Write this error with request id 0, flush, then close.
        case closeConnection(WireError)
    }
}
