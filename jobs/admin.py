from django.contrib import admin

from jobs.models import Job, JobItem


class JobItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = JobItem
    extra = 0
    can_delete = False
    fields = ("account", "key", "label", "status", "message", "command_id", "trace_id")
    readonly_fields = fields


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "kind", "title", "actor", "status", "processed", "total")
    list_filter = ("status", "kind")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [JobItemInline]

    def has_add_permission(self, request: object) -> bool:
        return False
