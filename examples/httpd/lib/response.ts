// Response heads and the small bodies of error responses.

export function reason(status: i32): string {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

/**
 * The head of a response (status line, fields, empty line). `date` is the Date field's value; an
 * empty `type` and a negative `length` leave out Content-Type and Content-Length (a 304 has no
 * body to describe); `fields` are more lines, each ending in CRLF.
 */
export function responseHead(status: i32, date: string, type: string, length: i64, keepAlive: bool, fields: string = ""): string {
  let h = "HTTP/1.1 " + status.toString() + " " + reason(status) + "\r\nServer: flexvm-httpd\r\nDate: " + date + "\r\n";
  if (type.length > 0) h += "Content-Type: " + type + "\r\n";
  if (length >= 0) h += "Content-Length: " + length.toString() + "\r\n";
  h += fields;
  h += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  if (status == 405) h += "Allow: GET, HEAD\r\n";
  return h + "\r\n";
}

/** The body of an error response. */
export function errorBody(status: i32): string {
  const title = status.toString() + " " + reason(status);
  return "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head><body><h1>" + title + "</h1><hr>flexvm-httpd</body></html>\n";
}
