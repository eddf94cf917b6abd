"""API lists: `{"results": [...], "next": url|null, "previous": url|null}` with keyset (cursor) paging.

No COUNT(*): a cursor seeks on the ordering columns, so a deep page costs what the first does.
"""
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class ResultsCursorPagination(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
