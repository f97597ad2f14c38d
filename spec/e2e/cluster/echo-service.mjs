// A --require module for the cluster tests: a service that answers on the node the call lands on.
export default bayeux => {
  bayeux.listen('/service/echo', message => ({ echoed: message.data }))
}
